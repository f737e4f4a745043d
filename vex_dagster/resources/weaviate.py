"""Weaviate: a local node (url + grpc_port) or Weaviate Cloud (https url + api_key)."""

from typing import ClassVar

from pydantic import Field

from vex_dagster.resources.base import VectorStoreResource


class WeaviateResource(VectorStoreResource):
    """Weaviate through the official v4 client (REST + gRPC); the API key only as a dg.EnvVar."""

    store: ClassVar[str] = "weaviate"

    url: str = Field(default="http://localhost:8080",
                     description="REST URL: http://host:8080 for a local node, https://... for Weaviate Cloud")
    grpc_port: int = Field(default=50051, description="gRPC port of a local node (Weaviate Cloud needs none)")
    api_key: str | None = Field(default=None, description="API key; set it with dg.EnvVar")
    text_key: str = Field(default="text", description="property holding the record's text")
    tenants: bool = Field(default=False, description="create new collections multi-tenant, a tenant per namespace")
    vector_name: str = Field(default="default", description="the named vector to read and write")
    max_request_bytes: int = Field(default=8 * 1024 * 1024,
                                   description="bytes per batch request (kept under the node's gRPC limit)")
