"""jsonl: a directory of `.vmig.jsonl` files, one per collection (passthrough).

A collection ``docs`` is ``DIR/docs.vmig.jsonl`` with its sidecar. Writing a
collection replaces its file atomically when ``finish`` is called: a file cannot be
upserted in place, and a half-written one must never look complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, Neighbour, Setting, Store, StoreError,
)
from vex_dagster.stores.knn import top_k
from vex_dagster.vmig import MetaError, VmigReader, VmigWriter, read_meta
from vex_dagster.vmig.files import DATA_SUFFIX
from vex_dagster.vmig.record import Record


class JsonlStore(Store):
    name = "jsonl"
    settings = (Setting("dir", "directory holding COLLECTION.vmig.jsonl files", "."),)

    def __init__(self, dir: str = "."):
        self.dir = Path(dir)
        self._writers: dict[str, VmigWriter] = {}

    def path(self, collection: str) -> Path:
        return self.dir / f"{collection}{DATA_SUFFIX}"

    def source_info(self, collection: str) -> dict:
        return {"collection": collection, "path": str(self.path(collection))}

    def _existing(self, collection: str) -> Path:
        path = self.path(collection)
        if not path.exists():
            raise CollectionNotFound(f"no file {path}")
        return path

    def describe(self, collection: str) -> CollectionInfo:
        path = self._existing(collection)
        try:
            meta = read_meta(path)
            return CollectionInfo(collection, meta.dims, meta.metric, meta.record_count, meta.namespaces)
        except MetaError:
            pass  # no sidecar: count by reading
        namespaces: dict[str, int] = {}
        dims = None
        for record in VmigReader(path):
            namespaces[record.namespace or ""] = namespaces.get(record.namespace or "", 0) + 1
            dims = dims or record.dims
        return CollectionInfo(collection, dims, None, sum(namespaces.values()), namespaces)

    def _records(self, collection: str, namespace: str | None) -> Iterator[Record]:
        records = iter(VmigReader(self._existing(collection)))
        if namespace is None:
            return records
        return (r for r in records if (r.namespace or "") == namespace)

    def iter_batches(self, collection, namespace=None, batch_size=1000) -> Iterator[list[Record]]:
        records = self._records(collection, namespace)
        while batch := list(islice(records, batch_size)):
            yield batch

    def open_collection(self, collection, dims, metric="cosine", create=True) -> None:
        if not create and not self.path(collection).exists():
            raise CollectionNotFound(f"no file {self.path(collection)}")
        if collection in self._writers:
            raise StoreError(f"jsonl collection {collection!r} is already being written")
        self._writers[collection] = VmigWriter(
            self.path(collection), source_store="jsonl", source={"collection": collection}, metric=metric
        )

    def write_batch(self, collection, records) -> None:
        self._writers[collection].write_all(records)

    def finish(self, collection: str) -> None:
        self._writers.pop(collection).close()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.abort()
        self._writers.clear()

    def search(self, collection, vector, k=10, namespace=None) -> list[Neighbour]:
        metric = self.describe(collection).metric or "cosine"
        chunks = (
            ([r.id for r in batch if r.vector is not None],
             np.array([r.vector for r in batch if r.vector is not None], dtype=np.float32))
            for batch in self.iter_batches(collection, namespace, 10_000)
        )
        return top_k(chunks, vector, k, metric)

    def fetch(self, collection, ids, namespace=None) -> list[Record]:
        wanted = set(ids)
        return [r for r in self._records(collection, namespace) if r.id in wanted]
