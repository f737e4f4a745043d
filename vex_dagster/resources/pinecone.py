"""Pinecone: the hosted service (api_key), an index by name or by host."""

from typing import ClassVar

from pydantic import Field

from vex_dagster.resources.base import VectorStoreResource


class PineconeResource(VectorStoreResource):
    """Pinecone through the official SDK; the API key only ever as a dg.EnvVar."""

    store: ClassVar[str] = "pinecone"

    api_key: str | None = Field(default=None, description="Pinecone API key; set it with dg.EnvVar")
    host: str | None = Field(default=None, description="index host (default: looked up by index name)")
    controller_host: str | None = Field(default=None, description="control-plane URL (default Pinecone's)")
    cloud: str = Field(default="aws", description="cloud for a new serverless index")
    region: str = Field(default="us-east-1", description="region for a new serverless index")
    text_key: str = Field(default="text", description="metadata key holding the text")
    oversize: str = Field(default="fail", description="a record over 40 KB of metadata: fail, skip or truncate")
