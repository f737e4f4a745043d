"""vektor: Vex's native SQLite store, embedded (no server)."""

from typing import ClassVar

from pydantic import Field

from vex_dagster.resources.base import VectorStoreResource


class VektorResource(VectorStoreResource):
    """A vektor SQLite file; created on first write."""

    store: ClassVar[str] = "vektor"
    local_paths: ClassVar[tuple[str, ...]] = ("path",)

    path: str = Field(
        default="vektor.db",
        description="SQLite file of the store (created if missing); a relative path is under VEX_DATA_DIR",
    )
