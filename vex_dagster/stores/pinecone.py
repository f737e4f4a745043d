"""pinecone: Pinecone through the official ``pinecone`` SDK (10.x, API 2026-07).

Mapping (DESIGN §3):
- collection = index (names folded to Pinecone's lowercase-and-dashes rule, said
  in the log); namespaces are native ("" is the default).
- text lives in metadata under ``text_key`` (default ``text``), the other vmig
  fields in ``_vex`` (JSON text). User metadata Pinecone cannot hold - null,
  nested objects, lists of anything but strings, integers beyond 2^53 (Pinecone
  numbers are doubles) - travels as JSON through the shared MetadataCodec and is
  restored on export.
- a record whose metadata exceeds 40 KB is never dropped silently: ``oversize``
  fails the run (default), skips it, or truncates its text, naming the id.
- writes: batches bounded by 1,000 vectors and 2 MB per request; export lists ids
  page by page and fetches them in batches.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, Neighbour, Setting, Store, StoreError, check_dims,
)
from vex_dagster.stores.ids import derived_uuid
from vex_dagster.stores.metadata_codec import MetadataCodec, is_scalar
from vex_dagster.stores.retry import retry_call
from vex_dagster.vmig.record import Record

log = logging.getLogger("vex.pinecone")

MAX_BATCH_VECTORS = 1000
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 40 * 1024
MAX_ID_LENGTH = 512
LIST_PAGE = 100
VEX_KEY = "_vex"
METRICS = {"cosine": "cosine", "dot": "dotproduct", "euclidean": "euclidean"}
FROM_PINECONE = {v: k for k, v in METRICS.items()}


def pinecone_can_hold(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= 2**53  # numbers are doubles in Pinecone
    return is_scalar(value)


def index_name(collection: str) -> str:
    """Pinecone index names are 1-45 lowercase letters, digits and dashes."""
    name = re.sub(r"[^a-z0-9-]", "-", collection.lower()).strip("-")[:45]
    if not name:
        raise StoreError(f"{collection!r} cannot be a Pinecone index name (lowercase letters, digits, '-')")
    if name != collection:
        log.info("Pinecone index name for %r is %r", collection, name)
    return name


def pinecone_id(rid: str) -> str:
    """Pinecone ids are ASCII, at most 512 characters; others become a UUIDv5."""
    return rid if rid.isascii() and len(rid) <= MAX_ID_LENGTH else derived_uuid(rid)


def _is_transient(exc: BaseException) -> bool:
    return type(exc).__name__ in ("RateLimitError", "ServiceError", "PineconeConnectionError",
                                  "PineconeTimeoutError")


class PineconeStore(Store):
    name = "pinecone"
    settings = (
        Setting("api_key", "Pinecone API key; prefer the environment variable", secret=True),
        Setting("host", "the index host (skips the describe call); default: looked up by index name"),
        Setting("controller_host", "control-plane URL (default Pinecone's own; an emulator's in tests)"),
        Setting("cloud", "cloud for a new serverless index", "aws"),
        Setting("region", "region for a new serverless index", "us-east-1"),
        Setting("text_key", "metadata key holding the record's text", "text"),
        Setting("oversize", "a record over 40 KB of metadata: fail, skip or truncate (its text)", "fail"),
    )

    def __init__(self, api_key: str | None = None, host: str | None = None, controller_host: str | None = None,
                 cloud: str = "aws", region: str = "us-east-1", text_key: str = "text", oversize: str = "fail"):
        from pinecone import Pinecone

        if not api_key:
            raise StoreError("pinecone needs an API key: set VEX_PINECONE_API_KEY (or --api-key)")
        if oversize not in ("fail", "skip", "truncate"):
            raise StoreError(f"--oversize must be fail, skip or truncate, not {oversize!r}")
        self._client = Pinecone(api_key=api_key, **({"host": controller_host} if controller_host else {}))
        self._host, self.cloud, self.region = host, cloud, region
        self.text_key, self.oversize = text_key, oversize
        self.codec = MetadataCodec(can_hold=pinecone_can_hold, reserved=frozenset({text_key, VEX_KEY}))
        self._indexes: dict[str, Any] = {}
        self.skipped: list[str] = []
        self.truncated: list[str] = []

    def _call(self, what: str, fn):
        return retry_call(fn, is_transient=_is_transient, what=f"pinecone {what}")

    # -- indexes -----------------------------------------------------------------------
    def _describe_index(self, name: str):
        from pinecone.errors.exceptions import NotFoundError

        try:
            return self._call("describe index", lambda: self._client.describe_index(name))
        except NotFoundError as exc:
            raise CollectionNotFound(f"pinecone index {name!r} does not exist") from exc

    def _index(self, collection: str):
        name = index_name(collection)
        if name not in self._indexes:
            host = self._host or self._describe_index(name).host
            self._indexes[name] = self._client.Index(host=host)
        return self._indexes[name]

    def describe(self, collection: str) -> CollectionInfo:
        model = self._describe_index(index_name(collection))
        stats = self._call("stats", lambda: self._index(collection).describe_index_stats())
        namespaces = {name: summary.vector_count for name, summary in sorted(stats.namespaces.items())}
        return CollectionInfo(collection, model.dimension, FROM_PINECONE.get(model.metric, model.metric),
                              sum(namespaces.values()), namespaces)

    def open_collection(self, collection, dims, metric="cosine", create=True) -> None:
        from pinecone import ServerlessSpec

        name = index_name(collection)
        try:
            check_dims(collection, self._describe_index(name).dimension, dims)
            return
        except CollectionNotFound:
            if not create:
                raise
        if dims is None:
            raise StoreError("pinecone needs vectors to create an index; re-embed text-only records first")
        self._call("create index", lambda: self._client.create_index(
            name=name, dimension=dims, metric=METRICS[metric or "cosine"],
            spec=ServerlessSpec(cloud=self.cloud, region=self.region)))
        deadline = time.monotonic() + 300
        while not self._describe_index(name).status.ready:  # a new index takes a while to serve
            if time.monotonic() > deadline:
                raise StoreError(f"pinecone index {name!r} was not ready after 5 minutes")
            time.sleep(2)

    # -- records <-> vectors -----------------------------------------------------------
    def _metadata(self, record: Record) -> dict[str, Any] | None:
        """Pinecone-legal metadata for ``record``, or None if it is skipped as oversize."""
        metadata = self.codec.encode(record.metadata)
        if record.text is not None:
            metadata[self.text_key] = record.text
        metadata[VEX_KEY] = orjson.dumps({
            "model": record.model, "created_at": record.created_at, "source_store": record.source_store,
            "modality": record.modality, "score": record.score, "vex_version": record.vex_version,
            "extra": record.extra or None, **({"id": record.id} if pinecone_id(record.id) != record.id else {}),
        }).decode()
        size = len(orjson.dumps(metadata))
        if size <= MAX_METADATA_BYTES:
            return metadata
        if self.oversize == "fail":
            raise StoreError(f"record {record.id!r} has {size:,} bytes of metadata, over Pinecone's 40 KB; "
                             "rerun with --oversize skip or --oversize truncate")
        if self.oversize == "skip" or record.text is None or size - len(record.text.encode()) > MAX_METADATA_BYTES:
            log.warning("skipped record %r: %s bytes of metadata, over Pinecone's 40 KB", record.id, f"{size:,}")
            self.skipped.append(record.id)
            return None
        room = len(record.text.encode()) - (size - MAX_METADATA_BYTES) - 16
        metadata[self.text_key] = record.text.encode()[: max(room, 0)].decode(errors="ignore")
        log.warning("truncated the text of record %r to fit Pinecone's 40 KB of metadata", record.id)
        self.truncated.append(record.id)
        return metadata

    def _to_record(self, vector, namespace: str) -> Record:
        metadata = dict(vector.metadata or {})
        text = metadata.get(self.text_key)
        stash = orjson.loads(metadata[VEX_KEY]) if VEX_KEY in metadata else {}
        sparse = vector.sparse_values
        return Record(
            id=stash.get("id", vector.id), vector=np.asarray(vector.values, dtype=np.float32), text=text,
            namespace=namespace or None, metadata=self.codec.decode(metadata), model=stash.get("model"),
            created_at=stash.get("created_at"), source_store=stash.get("source_store") or "pinecone",
            modality=stash.get("modality") or "text", score=stash.get("score"),
            vex_version=stash.get("vex_version") or Record.vex_version,
            sparse_vector=None if sparse is None else {"indices": list(sparse.indices),
                                                       "values": [float(v) for v in sparse.values]},
            extra=stash.get("extra") or {},
        )

    def _requests(self, records: list[Record]) -> Iterator[tuple[str, list[dict]]]:
        """(namespace, vectors) requests within 1,000 vectors and 2 MB each."""
        by_namespace: dict[str, list[dict]] = {}
        for record in records:
            if record.vector is None:
                raise StoreError(f"record {record.id!r} has no vector; re-embed text-only records first")
            metadata = self._metadata(record)
            if metadata is None:
                continue
            item: dict[str, Any] = {"id": pinecone_id(record.id), "values": record.vector.tolist(), "metadata": metadata}
            if record.sparse_vector:
                item["sparse_values"] = record.sparse_vector
            by_namespace.setdefault(record.namespace or "", []).append(item)
        for namespace, items in by_namespace.items():
            batch, size = [], 0
            for item in items:
                item_size = len(orjson.dumps(item)) + 64  # + the SDK's key spelling and separators
                if batch and (len(batch) == MAX_BATCH_VECTORS or size + item_size > MAX_REQUEST_BYTES - 4096):
                    yield namespace, batch
                    batch, size = [], 0
                batch.append(item)
                size += item_size
            if batch:
                yield namespace, batch

    # -- streaming ---------------------------------------------------------------------
    def write_batch(self, collection, records) -> None:
        index = self._index(collection)
        for namespace, items in self._requests(records):
            self._call("upsert", lambda: index.upsert(vectors=items, namespace=namespace))

    def finish(self, collection: str) -> None:
        if self.skipped or self.truncated:
            log.warning("pinecone %s: %d record(s) skipped and %d truncated for the 40 KB metadata limit: %s",
                        collection, len(self.skipped), len(self.truncated),
                        ", ".join(self.skipped + self.truncated)[:2000])

    def iter_batches(self, collection, namespace=None, batch_size=1000) -> Iterator[list[Record]]:
        index = self._index(collection)
        namespaces = [namespace] if namespace is not None else list(self.describe(collection).namespaces)
        batch: list[Record] = []
        for name in namespaces:
            token = None
            while True:
                page = self._call("list", lambda: index.list_paginated(
                    namespace=name, limit=LIST_PAGE, pagination_token=token))
                ids = [item.id for item in page.vectors]
                if ids:
                    fetched = self._call("fetch", lambda: index.fetch(ids=ids, namespace=name)).vectors
                    batch.extend(self._to_record(fetched[i], name) for i in ids if i in fetched)
                while len(batch) >= batch_size:
                    yield batch[:batch_size]
                    batch = batch[batch_size:]
                token = page.pagination.next if page.pagination else None
                if not token:
                    break
        if batch:
            yield batch

    def search(self, collection, vector, k=10, namespace=None) -> list[Neighbour]:
        result = self._call("query", lambda: self._index(collection).query(
            vector=np.asarray(vector, np.float32).tolist(), top_k=k, namespace=namespace or ""))
        metric = self.describe(collection).metric
        sign = -1.0 if metric == "euclidean" else 1.0  # Pinecone's euclidean score is a distance
        found = self.fetch(collection, [m.id for m in result.matches], namespace)
        originals = {pinecone_id(r.id): r.id for r in found}  # mapped ids back to the user's
        return [Neighbour(originals.get(m.id, m.id), sign * float(m.score)) for m in result.matches]

    def fetch(self, collection, ids, namespace=None) -> list[Record]:
        index = self._index(collection)
        namespaces = [namespace] if namespace is not None else list(self.describe(collection).namespaces)
        found = []
        for name in namespaces:
            for start in range(0, len(ids), LIST_PAGE):
                part = [pinecone_id(i) for i in ids[start : start + LIST_PAGE]]
                vectors = self._call("fetch", lambda: index.fetch(ids=part, namespace=name)).vectors
                found.extend(self._to_record(vectors[i], name) for i in part if i in vectors)
        return found
