"""jsonl: a directory of ``.vmig.jsonl`` files, one per collection."""

from typing import ClassVar

from pydantic import Field

from vex_dagster.resources.base import VectorStoreResource


class JsonlResource(VectorStoreResource):
    """A folder of vmig files; writing a collection replaces its file atomically."""

    store: ClassVar[str] = "jsonl"
    local_paths: ClassVar[tuple[str, ...]] = ("dir",)

    dir: str = Field(
        default=".",
        description="directory holding COLLECTION.vmig.jsonl files; a relative path is under VEX_DATA_DIR",
    )
