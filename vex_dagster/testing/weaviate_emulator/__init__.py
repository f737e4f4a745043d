"""A Weaviate emulator: the REST and gRPC APIs the ``weaviate-client`` v4 uses, on loopback.

REST (``/v1``): ``meta``, ``.well-known/ready|live``, ``schema`` (list, create, get,
delete a collection; add a property; list and add tenants) and ``nodes``. gRPC: the
``weaviate.v1.Weaviate`` service (see ``grpc_service``) and ``grpc.health.v1``.
State and rules are in ``state``. What is not emulated (vectorizer modules, GraphQL,
references, object properties, BM25/hybrid, replication) answers an error rather
than a wrong result.

Usage::

    with WeaviateEmulator() as node:
        client = weaviate.connect_to_local(port=node.http_port, grpc_port=node.grpc_port)
"""

from __future__ import annotations

from concurrent import futures
from typing import Any
from urllib.parse import unquote, urlsplit

import grpc
import orjson
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from vex_dagster.testing.http import LoopbackJsonServer
from vex_dagster.testing.weaviate_emulator.grpc_service import WeaviateService
from vex_dagster.testing.weaviate_emulator.state import Node, WeaviateError
from weaviate.proto.v1 import weaviate_pb2_grpc

VERSION = "1.32.0"
#: bytes per gRPC message. Weaviate's default GRPC_MAX_MESSAGE_SIZE (guess: 10 MiB, the
#: figure the client falls back to); tests lower it to breach it on purpose.
DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class WeaviateEmulator:
    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES):
        self.node = Node()
        self.max_message_bytes = max_message_bytes
        self._http = LoopbackJsonServer(self._handle, self._refusal)
        self.http_port, self.url = self._http.port, self._http.url
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ])
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(WeaviateService(self.node), self._grpc)
        checks = health.HealthServicer()
        checks.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(checks, self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> "WeaviateEmulator":
        self._http.__enter__()
        self._grpc.start()
        return self

    def __exit__(self, *exc) -> None:
        self._grpc.stop(grace=None)
        self._http.__exit__(*exc)

    @staticmethod
    def _refusal(exc: Exception):
        if isinstance(exc, WeaviateError):
            return exc.status, {"error": [{"message": exc.message}]}
        return None

    # -- REST --------------------------------------------------------------------------
    def _handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, Any]:
        path = unquote(urlsplit(raw_path).path).rstrip("/")
        if not path.startswith("/v1/"):
            raise WeaviateError(f"{path} not found", status=404)
        parts = path.split("/")[2:]
        payload = orjson.loads(body) if body else None
        if parts == ["meta"]:
            return 200, {"hostname": self.url, "version": VERSION, "modules": {},
                         "grpcMaxMessageSize": self.max_message_bytes}
        if parts[:1] == [".well-known"]:
            return (200, None) if parts[1:] in (["ready"], ["live"]) else (404, None)
        if parts == ["nodes"]:
            return 200, self._nodes()
        if parts[:1] == ["schema"]:
            return self._schema(method, parts[1:], payload)
        raise WeaviateError(f"{method} {path} is not emulated", status=404)

    def _schema(self, method: str, parts: list[str], payload) -> tuple[int, Any]:
        node = self.node
        if not parts:
            if method == "POST":
                return 200, node.create(payload)
            return 200, {"classes": [c.definition for c in node.collections.values()]}
        name, rest = parts[0], parts[1:]
        if not rest:
            if method == "DELETE":
                node.delete(name)
                return 200, None
            return 200, node.get(name).definition
        if rest == ["properties"] and method == "POST":
            return 200, node.add_property(name, payload)
        if rest == ["tenants"]:
            if method == "POST":
                node.add_tenants(name, payload)
                return 200, payload
            return 200, [{"name": t, "activityStatus": s} for t, s in sorted(node.get(name).tenants.items())]
        raise WeaviateError(f"{method} /v1/schema/{'/'.join(parts)} is not emulated", status=404)

    def _nodes(self) -> dict[str, Any]:
        shards = [{"class": c.name, "name": tenant or "shard0", "objectCount": len(objects)}
                  for c in self.node.collections.values() for tenant, objects in c.shards.items()]
        return {"nodes": [{"name": "emulator", "status": "HEALTHY", "version": VERSION, "shards": shards,
                           "stats": {"shardCount": len(shards),
                                     "objectCount": sum(s["objectCount"] for s in shards)}}]}
