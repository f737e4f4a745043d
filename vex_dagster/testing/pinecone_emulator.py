"""A Pinecone emulator: control plane and data plane over plain HTTP on loopback.

Follows Pinecone's REST API (API version 2025-04/10 as sent by the ``pinecone``
SDK 10): ``/indexes`` (create, describe, list, delete) and, on the index host,
``/vectors/upsert``, ``/vectors/fetch``, ``/vectors/list``, ``/vectors/delete``,
``/describe_index_stats`` and ``/query``. The control plane and every index are
served from one port; an index's ``host`` points back here.

Documented limits enforced, with the service's error body
``{"code": <grpc code>, "message": ..., "details": []}``:
upsert <= 1000 vectors and <= 2 MB per request, metadata <= 40 KB per record,
metadata values string / number / boolean / list of strings (no null, no nested
objects), vector length equal to the index dimension, ids 1..512 characters,
fetch <= 1000 ids, list limit 1..100. ``fail_next(n, status)`` makes the next n
data-plane requests answer 429 or 503, as the service does under load.

Guesses (not in the public reference, chosen to match the SDK's error mapping):
the HTTP status for an oversized request is 413, and list pages are ordered by id.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import numpy as np
import orjson

from vex_dagster.testing.http import LoopbackJsonServer

MAX_UPSERT_VECTORS = 1000
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 40 * 1024
MAX_ID_LENGTH = 512
MAX_FETCH_IDS = 1000
MAX_LIST_LIMIT = 100
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, RESOURCE_EXHAUSTED, UNAVAILABLE = 3, 5, 6, 8, 14


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Index:
    name: str
    dimension: int
    metric: str
    spec: dict
    namespaces: dict[str, dict[str, dict]] = field(default_factory=dict)


def _metadata_error(metadata) -> str | None:
    if not isinstance(metadata, dict):
        return "Metadata must be an object"
    for key, value in metadata.items():
        if value is None:
            return f"Metadata value for key '{key}' must be a string, number, boolean or list of strings, got null"
        if isinstance(value, dict):
            return f"Metadata value for key '{key}' must be a string, number, boolean or list of strings, got object"
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return f"Metadata value for key '{key}' must be a list of strings"
    if len(orjson.dumps(metadata)) > MAX_METADATA_BYTES:
        return f"Metadata size is {len(orjson.dumps(metadata))} bytes, which exceeds the limit of {MAX_METADATA_BYTES} bytes per vector"
    return None


class PineconeEmulator:
    """Start with ``with PineconeEmulator() as pc:``; ``pc.url`` is the control plane."""

    def __init__(self) -> None:
        self.indexes: dict[str, Index] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, body bytes): what clients sent
        self._faults: list[int] = []
        self._lock = threading.Lock()
        self._http = LoopbackJsonServer(self.handle, self._refusal)
        self.url = self._http.url

    @staticmethod
    def _refusal(exc: Exception):
        if isinstance(exc, ApiError):
            return exc.status, {"code": exc.code, "message": exc.message, "details": []}
        return 500, {"code": 13, "message": f"emulator error: {exc!r}", "details": []}

    def __enter__(self) -> "PineconeEmulator":
        self._http.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._http.__exit__(*exc)

    def fail_next(self, count: int, status: int = 429) -> None:
        """The next ``count`` data-plane requests answer ``status`` (429 or 503)."""
        with self._lock:
            self._faults.extend([status] * count)

    # -- routing -----------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, body: bytes):
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        self.requests.append((method, path, len(body)))
        if path == "/indexes" or path.startswith("/indexes/"):
            return self._control(method, path, body)
        index, path = self._index_for_path(path)
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if fault:
            code = RESOURCE_EXHAUSTED if fault == 429 else UNAVAILABLE
            raise ApiError(fault, code, "Too many requests" if fault == 429 else "Service unavailable")
        if len(body) > MAX_REQUEST_BYTES:
            raise ApiError(413, INVALID_ARGUMENT, f"Request size {len(body)} bytes exceeds the maximum "
                           f"supported size of {MAX_REQUEST_BYTES} bytes")
        request = orjson.loads(body) if body else {}
        routes = {
            ("POST", "/vectors/upsert"): self._upsert, ("GET", "/vectors/fetch"): self._fetch,
            ("GET", "/vectors/list"): self._list, ("POST", "/vectors/delete"): self._delete,
            ("POST", "/describe_index_stats"): self._stats, ("POST", "/query"): self._query,
        }
        if (method, path) not in routes:
            raise ApiError(404, NOT_FOUND, f"{method} {path} is not part of the emulated API")
        with self._lock:
            return 200, routes[(method, path)](index, request, query)

    def _index_for_path(self, path: str) -> tuple[Index, str]:
        """Index hosts are ``<emulator>/index/<name>`` (real ones are per-index hostnames,
        which need DNS; a path prefix keeps everything on one loopback port)."""
        _, prefix, name, *rest = (path.split("/", 3) + [""])[:4]
        if prefix != "index" or name not in self.indexes:
            raise ApiError(404, NOT_FOUND, f"no index is served at {path!r}")
        return self.indexes[name], "/" + "/".join(rest)

    def host_of(self, name: str) -> str:
        return f"{self.url}/index/{name}"

    # -- control plane -----------------------------------------------------------------
    def _model(self, index: Index) -> dict:
        """The 2026-07 IndexModel: shape in ``schema``, placement in ``deployment``."""
        return {
            "name": index.name, "host": self.host_of(index.name), "private_host": None,
            "status": {"ready": True, "state": "Ready"},
            "schema": {"fields": {"_values": {"type": "dense_vector", "dimension": index.dimension,
                                               "metric": index.metric}}},
            "deployment": index.spec.get("deployment") or {"deployment_type": "managed", "cloud": "aws",
                                                           "region": "us-east-1"},
            "read_capacity": index.spec.get("read_capacity"), "deletion_protection": "disabled", "tags": None,
        }

    def _control(self, method: str, path: str, body: bytes):
        name = path.removeprefix("/indexes").strip("/")
        if method == "GET" and not name:
            return 200, {"indexes": [self._model(i) for i in self.indexes.values()]}
        if method == "POST" and not name:
            request = orjson.loads(body)
            name = request.get("name", "")
            if not name or len(name) > 45 or not all(c.islower() or c.isdigit() or c == "-" for c in name):
                raise ApiError(400, INVALID_ARGUMENT, "Index name must consist of lower case alphanumeric "
                               "characters or '-', and be at most 45 characters")
            if name in self.indexes:
                raise ApiError(409, ALREADY_EXISTS, f"Resource {name} already exists")
            dense = ((request.get("schema") or {}).get("fields") or {}).get("_values") or {}
            metric = dense.get("metric", "cosine")
            if metric not in ("cosine", "dotproduct", "euclidean"):
                raise ApiError(400, INVALID_ARGUMENT, "metric must be cosine, dotproduct or euclidean")
            if not 1 <= int(dense.get("dimension") or 0) <= 20000:
                raise ApiError(400, INVALID_ARGUMENT, "dimension must be between 1 and 20000")
            placement = {k: request.get(k) for k in ("deployment", "read_capacity")}
            self.indexes[name] = Index(name, int(dense["dimension"]), metric, placement)
            return 201, self._model(self.indexes[name])
        if name not in self.indexes:
            raise ApiError(404, NOT_FOUND, f"Resource {name} not found")
        if method == "GET":
            return 200, self._model(self.indexes[name])
        if method == "DELETE":
            del self.indexes[name]
            return 202, None
        raise ApiError(405, INVALID_ARGUMENT, f"{method} not supported on {path}")

    # -- data plane --------------------------------------------------------------------
    def _upsert(self, index: Index, request: dict, _query) -> dict:
        vectors = request.get("vectors") or []
        if len(vectors) > MAX_UPSERT_VECTORS:
            raise ApiError(400, INVALID_ARGUMENT, f"Max vectors per upsert request is {MAX_UPSERT_VECTORS}, "
                           f"got {len(vectors)}")
        for vector in vectors:
            vid = vector.get("id", "")
            if not 1 <= len(vid) <= MAX_ID_LENGTH:
                raise ApiError(400, INVALID_ARGUMENT, f"Vector ID must be 1 to {MAX_ID_LENGTH} characters")
            if len(vector.get("values") or []) != index.dimension:
                raise ApiError(400, INVALID_ARGUMENT, f"Vector dimension {len(vector.get('values') or [])} "
                               f"does not match the dimension of the index {index.dimension}")
            if "metadata" in vector and (problem := _metadata_error(vector["metadata"])):
                raise ApiError(400, INVALID_ARGUMENT, f"{problem} (vector id {vid!r})")
        namespace = index.namespaces.setdefault(request.get("namespace", ""), {})
        for vector in vectors:
            namespace[vector["id"]] = vector
        return {"upsertedCount": len(vectors)}

    def _fetch(self, index: Index, _request, query) -> dict:
        ids = query.get("ids", [])
        if len(ids) > MAX_FETCH_IDS:
            raise ApiError(400, INVALID_ARGUMENT, f"Max ids per fetch request is {MAX_FETCH_IDS}")
        namespace_name = (query.get("namespace") or [""])[0]
        namespace = index.namespaces.get(namespace_name, {})
        return {"vectors": {i: namespace[i] for i in ids if i in namespace}, "namespace": namespace_name,
                "usage": {"readUnits": 1}}

    def _list(self, index: Index, _request, query) -> dict:
        limit = int((query.get("limit") or [MAX_LIST_LIMIT])[0])
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ApiError(400, INVALID_ARGUMENT, f"limit must be between 1 and {MAX_LIST_LIMIT}")
        namespace_name = (query.get("namespace") or [""])[0]
        prefix = (query.get("prefix") or [""])[0]
        ids = sorted(i for i in index.namespaces.get(namespace_name, {}) if i.startswith(prefix))
        start = int((query.get("paginationToken") or ["0"])[0])
        page = ids[start : start + limit]
        result = {"vectors": [{"id": i} for i in page], "namespace": namespace_name, "usage": {"readUnits": 1}}
        if start + limit < len(ids):
            result["pagination"] = {"next": str(start + limit)}
        return result

    def _delete(self, index: Index, request: dict, _query) -> dict:
        namespace = index.namespaces.get(request.get("namespace", ""), {})
        if request.get("deleteAll"):
            namespace.clear()
        for vid in request.get("ids") or []:
            namespace.pop(vid, None)
        return {}

    def _stats(self, index: Index, _request, _query) -> dict:
        namespaces = {name: {"vectorCount": len(v)} for name, v in index.namespaces.items() if v}
        return {"namespaces": namespaces, "dimension": index.dimension, "indexFullness": 0.0,
                "totalVectorCount": sum(n["vectorCount"] for n in namespaces.values()), "metric": index.metric,
                "vectorType": "dense"}

    def _query(self, index: Index, request: dict, _query) -> dict:
        namespace = index.namespaces.get(request.get("namespace", ""), {})
        query = np.asarray(request["vector"], dtype=np.float64)
        ids = list(namespace)
        if not ids:
            return {"matches": [], "namespace": request.get("namespace", ""), "usage": {"readUnits": 1}}
        matrix = np.asarray([namespace[i]["values"] for i in ids], dtype=np.float64)
        if index.metric == "euclidean":
            scores = np.sum((matrix - query) ** 2, axis=1)
            order = np.argsort(scores)
        else:
            scores = matrix @ query
            if index.metric == "cosine":
                norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
                scores = scores / np.where(norms == 0, 1.0, norms)
            order = np.argsort(-scores)
        matches = []
        for i in order[: int(request.get("topK", 10))]:
            match = {"id": ids[i], "score": float(scores[i])}
            if request.get("includeValues"):
                match["values"] = namespace[ids[i]]["values"]
            if request.get("includeMetadata") and "metadata" in namespace[ids[i]]:
                match["metadata"] = namespace[ids[i]]["metadata"]
            matches.append(match)
        return {"matches": matches, "namespace": request.get("namespace", ""), "usage": {"readUnits": 1}}
