"""chroma: Chroma through ``chromadb``, a server (``url``) or embedded (``path``).

Mapping (DESIGN §3):
- text is the document; embeddings are always given explicitly and collections
  are opened with ``embedding_function=None``, so Chroma never tries to download
  its default model.
- metadata: Chroma keeps scalars and non-empty same-type lists of str/int/float/
  bool, and no nulls, nested objects or empty dicts; anything else travels as JSON
  text through the shared MetadataCodec and comes back exactly.
- namespace: a metadata key (``_vex_ns``, "" = default), or with
  ``collection_per_namespace`` one collection per namespace named
  ``<collection>--<namespace>``. The remaining vmig fields ride in ``_vex``.
- metric: the collection's HNSW space (cosine / ip / l2) is cosine / dot / euclidean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import numpy as np
import orjson

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, Neighbour, Setting, Store, StoreError, check_dims,
)
from vex_dagster.stores.metadata_codec import MetadataCodec, is_scalar
from vex_dagster.stores.retry import is_connection_error, is_transient_status, retry_call
from vex_dagster.vmig.record import Record

NS_KEY = "_vex_ns"
VEX_KEY = "_vex"
NS_SEPARATOR = "--"
SPACES = {"cosine": "cosine", "dot": "ip", "euclidean": "l2"}
METRICS = {space: metric for metric, space in SPACES.items()}
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


def chroma_can_hold(value: Any) -> bool:
    """What Chroma keeps as it is: a scalar, or a non-empty list of one scalar type."""
    if isinstance(value, list):
        return bool(value) and all(is_scalar(v) for v in value) and len({type(v) for v in value}) == 1
    return is_scalar(value)


CODEC = MetadataCodec(can_hold=chroma_can_hold, reserved=frozenset({NS_KEY, VEX_KEY}))


def _is_transient(exc: BaseException) -> bool:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return is_transient_status(status) or is_connection_error(exc)


def _stash(record: Record) -> str:
    return orjson.dumps({
        "model": record.model, "created_at": record.created_at, "source_store": record.source_store,
        "modality": record.modality, "score": record.score, "vex_version": record.vex_version,
        "extra": record.extra or None, "sparse_vector": record.sparse_vector,
    }).decode()


class ChromaStore(Store):
    name = "chroma"
    settings = (
        Setting("url", "Chroma server URL, e.g. http://localhost:8000 (else embedded with --path)"),
        Setting("path", "directory of an embedded Chroma (PersistentClient); used when no URL is given"),
        Setting("collection_per_namespace", "one Chroma collection per namespace (COLLECTION--NS) "
                "instead of a namespace metadata key", default=False, type=bool),
    )

    def __init__(self, url: str | None = None, path: str | None = None, collection_per_namespace: bool = False):
        import chromadb

        settings = chromadb.Settings(anonymized_telemetry=False)
        if url:
            parsed = urlparse(url)
            self._client = chromadb.HttpClient(
                host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https", settings=settings,
            )
        elif path:
            self._client = chromadb.PersistentClient(path=path, settings=settings)
        else:
            raise StoreError("chroma needs a server --url (VEX_CHROMA_URL) or a --path (VEX_CHROMA_PATH)")
        self._where = url or path
        self.per_namespace = collection_per_namespace
        self._max_batch = self._client.get_max_batch_size()

    def source_info(self, collection: str) -> dict:
        return {"collection": collection, "location": self._where}

    def _call(self, what: str, fn):
        return retry_call(fn, is_transient=_is_transient, what=f"chroma {what}")

    # -- collections -----------------------------------------------------------------
    def _physical_name(self, collection: str, namespace: str | None) -> str:
        name = f"{collection}{NS_SEPARATOR}{namespace}" if self.per_namespace and namespace else collection
        if not _NAME.match(name):
            raise StoreError(f"{name!r} is not a valid Chroma collection name: 3-512 characters from "
                             "[a-zA-Z0-9._-], starting and ending with a letter or digit")
        return name

    def _physical(self, collection: str) -> list[tuple[str | None, Any]]:
        """(namespace or None, chroma collection) pairs that make up ``collection``."""
        found = []
        for name in self._client.list_collections():
            name = getattr(name, "name", name)
            if name == collection:
                found.append((None, self._open(name)))
            elif self.per_namespace and name.startswith(collection + NS_SEPARATOR):
                found.append((name[len(collection) + len(NS_SEPARATOR):], self._open(name)))
        if not found:
            raise CollectionNotFound(f"chroma collection {collection!r} does not exist at {self._where}")
        return found

    def _open(self, name: str):
        return self._client.get_collection(name, embedding_function=None)

    @staticmethod
    def _space(col) -> str:
        config = col.configuration or {}
        hnsw = config.get("hnsw") if isinstance(config, dict) else None
        return (hnsw or {}).get("space") or (col.metadata or {}).get("hnsw:space") or "l2"

    @staticmethod
    def _dims(col) -> int | None:
        sample = col.get(limit=1, include=["embeddings"])["embeddings"]
        return None if sample is None or len(sample) == 0 else len(sample[0])

    def describe(self, collection: str) -> CollectionInfo:
        parts = self._physical(collection)
        namespaces: dict[str, int] = {}
        for fixed_namespace, col in parts:
            for batch in self._pages(col, None, 5000, include=["metadatas"]):
                for metadata in batch["metadatas"]:
                    key = fixed_namespace or (metadata or {}).get(NS_KEY) or ""
                    namespaces[key] = namespaces.get(key, 0) + 1
        dims = next((d for d in (self._dims(c) for _, c in parts) if d), None)
        return CollectionInfo(collection, dims, METRICS.get(self._space(parts[0][1]), "euclidean"),
                              sum(namespaces.values()), dict(sorted(namespaces.items())))

    # -- reading ---------------------------------------------------------------------
    def _pages(self, col, where, size, include) -> Iterator[dict]:
        offset = 0
        while True:
            page = self._call("get", lambda: col.get(where=where, limit=size, offset=offset, include=include))
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def _to_records(self, page: dict, fixed_namespace: str | None) -> list[Record]:
        records = []
        for rid, vector, text, stored in zip(page["ids"], page["embeddings"], page["documents"], page["metadatas"]):
            stored = stored or {}
            stash = orjson.loads(stored[VEX_KEY]) if VEX_KEY in stored else {}
            records.append(Record(
                id=rid, vector=np.asarray(vector, dtype=np.float32), text=text,
                namespace=fixed_namespace or stored.get(NS_KEY) or None,
                metadata=CODEC.decode(stored), model=stash.get("model"), created_at=stash.get("created_at"),
                source_store=stash.get("source_store") or "chroma", modality=stash.get("modality") or "text",
                score=stash.get("score"), vex_version=stash.get("vex_version") or Record.vex_version,
                sparse_vector=stash.get("sparse_vector"), extra=stash.get("extra") or {},
            ))
        return records

    def iter_batches(self, collection, namespace=None, batch_size=1000) -> Iterator[list[Record]]:
        include = ["embeddings", "documents", "metadatas"]
        size = min(batch_size, self._max_batch)
        for fixed_namespace, col in self._physical(collection):
            if namespace is not None and fixed_namespace is not None and fixed_namespace != namespace:
                continue
            where = None if namespace is None or fixed_namespace is not None else {NS_KEY: namespace}
            if namespace == "" and fixed_namespace is None and self.per_namespace:
                where = None  # the base collection holds only the default namespace
            for page in self._pages(col, where, size, include):
                yield self._to_records(page, fixed_namespace)

    # -- writing ---------------------------------------------------------------------
    def open_collection(self, collection, dims, metric="cosine", create=True) -> None:
        try:
            parts = self._physical(collection)
        except CollectionNotFound:
            if not create:
                raise
            self._metric = metric or "cosine"
            self._create(self._physical_name(collection, None))
            return
        self._metric = METRICS.get(self._space(parts[0][1]), "euclidean")
        for _, col in parts:
            check_dims(collection, self._dims(col), dims)

    def _create(self, name: str):
        return self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": SPACES[self._metric]}},
        )

    def write_batch(self, collection, records) -> None:
        by_collection: dict[str, list[Record]] = {}
        for record in records:
            if record.vector is None:
                raise StoreError(f"record {record.id!r} has no vector; re-embed text-only records first")
            by_collection.setdefault(self._physical_name(collection, record.namespace), []).append(record)
        for name, group in by_collection.items():
            col = self._create(name)
            for start in range(0, len(group), self._max_batch):
                part = group[start : start + self._max_batch]
                metadatas = [{**CODEC.encode(r.metadata), NS_KEY: r.namespace or "", VEX_KEY: _stash(r)}
                             for r in part]
                self._call("upsert", lambda: col.upsert(
                    ids=[r.id for r in part], embeddings=np.stack([r.vector for r in part]),
                    documents=[r.text for r in part], metadatas=metadatas,
                ))

    # -- checking --------------------------------------------------------------------
    def search(self, collection, vector, k=10, namespace=None) -> list[Neighbour]:
        hits: list[Neighbour] = []
        for fixed_namespace, col in self._physical(collection):
            if namespace is not None and fixed_namespace not in (None, namespace):
                continue
            where = {NS_KEY: namespace} if namespace is not None else None
            result = self._call("query", lambda: col.query(
                query_embeddings=[np.asarray(vector, np.float32)], n_results=k, where=where, include=["distances"],
            ))
            hits += [Neighbour(i, -float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]
        return sorted(hits, key=lambda h: -h.score)[:k]

    def fetch(self, collection, ids, namespace=None) -> list[Record]:
        found = []
        for fixed_namespace, col in self._physical(collection):
            page = self._call("get", lambda: col.get(ids=list(ids), include=["embeddings", "documents", "metadatas"]))
            found += self._to_records(page, fixed_namespace)
        return [r for r in found if namespace is None or (r.namespace or "") == namespace]
