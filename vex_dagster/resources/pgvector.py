"""pgvector: any PostgreSQL DSN, or the embedded PostgreSQL (no server to install)."""

from typing import ClassVar

from pydantic import Field

from vex_dagster.resources.base import VectorStoreResource


class PgvectorResource(VectorStoreResource):
    """PostgreSQL + pgvector through psycopg 3; one table per collection."""

    store: ClassVar[str] = "pgvector"
    local_paths: ClassVar[tuple[str, ...]] = ("data_dir",)

    dsn: str | None = Field(default=None, description="PostgreSQL DSN; set it with dg.EnvVar (it may hold a password)")
    data_dir: str | None = Field(default=None, description="embedded PostgreSQL data directory, used when no dsn is given")
    index: str = Field(default="hnsw", description="ANN index built after an import: hnsw, ivfflat or none")
