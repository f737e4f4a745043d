"""qdrant: Qdrant through ``qdrant-client``, a server (``url``) or local mode (``path``).

Mapping (DESIGN §3):
- ids: unsigned integers and canonical UUIDs are kept; any other id becomes a
  UUIDv5 and the original is kept in the payload (``_vex_id``) and restored.
- payload: ``text``, ``namespace`` (a keyword-indexed key; "" is the default
  namespace), ``metadata`` (the user's object, nested as it is) and ``_vex`` (the
  remaining vmig fields), so nothing collides with the user's keys. Points written
  by other tools are read too: unknown top-level keys become metadata.
- vectors: the unnamed dense vector (or ``vector_name``) plus a sparse vector named
  ``sparse`` when records carry ``sparse_vector``. Qdrant normalises vectors in
  cosine collections, so there they come back as unit vectors (same direction).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, Neighbour, Setting, Store, StoreError, check_dims,
)
from vex_dagster.stores.ids import ORIGINAL_ID_KEY, uint_or_uuid_id
from vex_dagster.stores.retry import is_connection_error, is_transient_status, retry_call
from vex_dagster.vmig.record import Record

SPARSE_NAME = "sparse"
NAMESPACE_KEY = "namespace"
_VEX_KEY = "_vex"
_RESERVED = {"text", NAMESPACE_KEY, "metadata", _VEX_KEY, ORIGINAL_ID_KEY}
_METRICS = {"cosine": "Cosine", "dot": "Dot", "euclidean": "Euclid"}


def _is_transient(exc: BaseException) -> bool:
    return is_transient_status(getattr(exc, "status_code", None)) or is_connection_error(exc)


def _payload(record: Record, mapped: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": record.text, NAMESPACE_KEY: record.namespace or "", "metadata": record.metadata,
        _VEX_KEY: {
            "model": record.model, "created_at": record.created_at, "source_store": record.source_store,
            "modality": record.modality, "score": record.score, "vex_version": record.vex_version,
            "extra": record.extra or None,
        },
    }
    if mapped:
        payload[ORIGINAL_ID_KEY] = record.id
    return payload


class QdrantStore(Store):
    name = "qdrant"
    settings = (
        Setting("url", "Qdrant server URL, e.g. http://localhost:6333 (else local mode with --path)"),
        Setting("api_key", "Qdrant API key (for Qdrant Cloud); prefer the environment variable", secret=True),
        Setting("path", "Qdrant local-mode directory (':memory:' for RAM); used when no URL is given"),
        Setting("vector_name", "name of the dense vector in the collection (default: the unnamed vector)"),
    )

    def __init__(self, url: str | None = None, api_key: str | None = None, path: str | None = None,
                 vector_name: str | None = None):
        from qdrant_client import QdrantClient, models

        self._models = models
        if url:
            self._client = QdrantClient(url=url, api_key=api_key, timeout=60)
        elif path == ":memory:":
            self._client = QdrantClient(location=":memory:")
        elif path:
            self._client = QdrantClient(path=path)
        else:
            raise StoreError("qdrant needs a server --url (VEX_QDRANT_URL) or a local --path (VEX_QDRANT_PATH)")
        self._where = url or path
        self._server = bool(url)
        self.vector_name = vector_name or ""

    def close(self) -> None:
        self._client.close()

    def source_info(self, collection: str) -> dict:
        return {"collection": collection, "location": self._where}

    def _call(self, what: str, fn):
        return retry_call(fn, is_transient=_is_transient, what=f"qdrant {what}")

    def _params(self, collection: str):
        if not self._client.collection_exists(collection):
            raise CollectionNotFound(f"qdrant collection {collection!r} does not exist at {self._where}")
        return self._client.get_collection(collection)

    def _dense_params(self, info):
        vectors = info.config.params.vectors
        if isinstance(vectors, dict):
            if self.vector_name not in vectors:
                raise StoreError(f"collection has named vectors {sorted(vectors)}; choose one with --vector-name")
            return vectors[self.vector_name]
        return vectors

    def describe(self, collection: str) -> CollectionInfo:
        info = self._params(collection)
        params = self._dense_params(info)
        metric = {v: k for k, v in _METRICS.items()}.get(params.distance.value, params.distance.value.lower())
        count = self._client.count(collection, exact=True).count
        hits = self._client.facet(collection, key=NAMESPACE_KEY, limit=100_000, exact=True).hits if count else []
        namespaces = {str(h.value): h.count for h in hits}
        missing = count - sum(namespaces.values())
        if missing:  # points written by other tools carry no namespace key
            namespaces[""] = namespaces.get("", 0) + missing
        return CollectionInfo(collection, params.size, metric, count, dict(sorted(namespaces.items())))

    def _filter(self, namespace: str | None):
        if namespace is None:
            return None
        m = self._models
        condition = m.FieldCondition(key=NAMESPACE_KEY, match=m.MatchValue(value=namespace))
        if namespace:
            return m.Filter(must=[condition])
        # the default namespace: "" as written by vex, or no key at all (other tools)
        return m.Filter(should=[condition, m.IsEmptyCondition(is_empty=m.PayloadField(key=NAMESPACE_KEY))])

    def _to_record(self, point) -> Record:
        payload = dict(point.payload or {})
        vectors = point.vector if isinstance(point.vector, dict) else {self.vector_name: point.vector}
        dense = vectors.get(self.vector_name)
        sparse = vectors.get(SPARSE_NAME)
        vex = payload.get(_VEX_KEY) if isinstance(payload.get(_VEX_KEY), dict) else None
        if vex is not None:
            metadata = payload.get("metadata")
        else:
            metadata = {k: v for k, v in payload.items() if k not in _RESERVED}
        vex = vex or {}
        return Record(
            id=str(payload.get(ORIGINAL_ID_KEY, point.id)),
            vector=None if dense is None else np.asarray(dense, dtype=np.float32),
            text=payload.get("text"), namespace=payload.get(NAMESPACE_KEY) or None, metadata=metadata,
            model=vex.get("model"), created_at=vex.get("created_at"),
            source_store=vex.get("source_store") or "qdrant", modality=vex.get("modality") or "text",
            score=vex.get("score"), vex_version=vex.get("vex_version") or Record.vex_version,
            sparse_vector=None if sparse is None else {"indices": list(sparse.indices),
                                                       "values": [float(v) for v in sparse.values]},
            extra=vex.get("extra") or {},
        )

    def iter_batches(self, collection, namespace=None, batch_size=1000) -> Iterator[list[Record]]:
        self._params(collection)
        offset = None
        while True:
            points, offset = self._call("scroll", lambda: self._client.scroll(
                collection, scroll_filter=self._filter(namespace), limit=batch_size, offset=offset,
                with_payload=True, with_vectors=True,
            ))
            if points:
                yield [self._to_record(p) for p in points]
            if offset is None:
                return

    def open_collection(self, collection, dims, metric="cosine", create=True) -> None:
        m = self._models
        if self._client.collection_exists(collection):
            check_dims(collection, self._dense_params(self._client.get_collection(collection)).size, dims)
            return
        if not create:
            raise CollectionNotFound(f"qdrant collection {collection!r} does not exist at {self._where}")
        if dims is None:
            raise StoreError("qdrant needs vectors to create a collection; re-embed text-only records first")
        dense = m.VectorParams(size=dims, distance=m.Distance(_METRICS.get(metric or "cosine", "Cosine")))
        self._client.create_collection(
            collection, vectors_config={self.vector_name: dense} if self.vector_name else dense,
            sparse_vectors_config={SPARSE_NAME: m.SparseVectorParams()},
        )
        if self._server:  # local mode has no payload indexes (it warns and ignores them)
            self._client.create_payload_index(collection, NAMESPACE_KEY, m.PayloadSchemaType.KEYWORD)

    def write_batch(self, collection, records) -> None:
        m = self._models
        points = []
        for record in records:
            if record.vector is None:
                raise StoreError(f"record {record.id!r} has no vector; re-embed text-only records first")
            point_id, mapped = uint_or_uuid_id(record.id)
            vector: dict[str, Any] = {self.vector_name: record.vector.tolist()}
            if record.sparse_vector:
                vector[SPARSE_NAME] = m.SparseVector(**record.sparse_vector)
            points.append(m.PointStruct(id=point_id, vector=vector, payload=_payload(record, mapped)))
        self._call("upsert", lambda: self._client.upsert(collection, points=points, wait=True))

    def search(self, collection, vector, k=10, namespace=None) -> list[Neighbour]:
        self._params(collection)
        result = self._call("query", lambda: self._client.query_points(
            collection, query=np.asarray(vector, dtype=np.float32).tolist(), using=self.vector_name or None,
            query_filter=self._filter(namespace), limit=k, with_payload=[ORIGINAL_ID_KEY],
        ))
        return [Neighbour(str((p.payload or {}).get(ORIGINAL_ID_KEY, p.id)), float(p.score)) for p in result.points]

    def fetch(self, collection, ids, namespace=None) -> list[Record]:
        self._params(collection)
        points = self._call("retrieve", lambda: self._client.retrieve(
            collection, ids=[uint_or_uuid_id(i)[0] for i in ids], with_payload=True, with_vectors=True,
        ))
        records = [self._to_record(p) for p in points]
        return [r for r in records if namespace is None or (r.namespace or "") == namespace]
