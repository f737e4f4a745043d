"""Qdrant: a server (url, api_key) or local mode (path)."""

from typing import ClassVar

from pydantic import Field

from vex_dagster.resources.base import VectorStoreResource


class QdrantResource(VectorStoreResource):
    """Qdrant through qdrant-client; local mode needs no server."""

    store: ClassVar[str] = "qdrant"
    local_paths: ClassVar[tuple[str, ...]] = ("path",)

    url: str | None = Field(default=None, description="Qdrant server URL, e.g. http://localhost:6333")
    api_key: str | None = Field(default=None, description="API key (Qdrant Cloud); set it with dg.EnvVar")
    path: str | None = Field(default=None, description="local-mode directory, used when no url is given")
    vector_name: str | None = Field(default=None, description="dense vector name (default: unnamed)")
