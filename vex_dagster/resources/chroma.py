"""Chroma: a server (url) or an embedded PersistentClient (path)."""

from typing import ClassVar

from pydantic import Field

from vex_dagster.resources.base import VectorStoreResource


class ChromaResource(VectorStoreResource):
    """Chroma through chromadb; embeddings are always passed explicitly."""

    store: ClassVar[str] = "chroma"
    local_paths: ClassVar[tuple[str, ...]] = ("path",)

    url: str | None = Field(default=None, description="Chroma server URL, e.g. http://localhost:8000")
    path: str | None = Field(default=None, description="embedded Chroma directory, used when no url is given")
    collection_per_namespace: bool = Field(
        default=False, description="one Chroma collection per namespace instead of a namespace metadata key")
