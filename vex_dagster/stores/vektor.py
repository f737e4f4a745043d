"""vektor: Vex's native store, one SQLite file (stdlib ``sqlite3``).

Lossless for every vmig field: vectors are float32 BLOBs, metadata and unknown
fields are JSON text, and a NULL is kept apart from an empty value. Records come
back in the order they were first written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import orjson

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, Neighbour, Setting, Store, StoreError, check_dims,
)
from vex_dagster.stores.knn import top_k
from vex_dagster.vmig.record import Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY, dims INTEGER, metric TEXT NOT NULL DEFAULT 'cosine'
);
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL, namespace TEXT NOT NULL DEFAULT '', id TEXT NOT NULL,
    vector BLOB, text TEXT, model TEXT, metadata TEXT, created_at TEXT, source_store TEXT,
    modality TEXT, score REAL, vex_version TEXT, sparse_vector TEXT, extra TEXT,
    UNIQUE (collection, namespace, id)
);
"""
_COLUMNS = (
    "collection, namespace, id, vector, text, model, metadata, created_at, source_store, "
    "modality, score, vex_version, sparse_vector, extra"
)
_UPSERT = (
    f"INSERT INTO records ({_COLUMNS}) VALUES ({', '.join('?' * 14)}) "
    "ON CONFLICT (collection, namespace, id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", ")[3:])
)


def _json_or_null(value) -> bytes | None:
    return None if value is None else orjson.dumps(value)


def _row_to_record(row: tuple) -> Record:
    (namespace, rid, blob, text, model, metadata, created_at, source_store,
     modality, score, vex_version, sparse, extra) = row
    return Record(
        id=rid,
        vector=None if blob is None else np.frombuffer(blob, dtype="<f4").copy(),
        text=text, model=model, namespace=namespace or None,
        metadata=None if metadata is None else orjson.loads(metadata),
        created_at=created_at, source_store=source_store, modality=modality or "text",
        score=score, vex_version=vex_version,
        sparse_vector=None if sparse is None else orjson.loads(sparse),
        extra={} if extra is None else orjson.loads(extra),
    )


class VektorStore(Store):
    name = "vektor"
    settings = (Setting("path", "SQLite file of the vektor store (created if missing)", "vektor.db"),)

    def __init__(self, path: str = "vektor.db"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._sqlite_errors("open"):
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    @contextmanager
    def _sqlite_errors(self, what: str):
        """A full disk or a locked/corrupt file is the user's to fix: say so in one line."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StoreError(f"vektor {what} failed on {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def source_info(self, collection: str) -> dict:
        return {"collection": collection, "path": str(self.path)}

    def _collection_row(self, collection: str) -> tuple[int | None, str]:
        row = self._db.execute(
            "SELECT dims, metric FROM collections WHERE name = ?", (collection,)
        ).fetchone()
        if row is None:
            raise CollectionNotFound(f"vektor collection {collection!r} does not exist in {self.path}")
        return row

    def collections(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM collections ORDER BY name")]

    def describe(self, collection: str) -> CollectionInfo:
        dims, metric = self._collection_row(collection)
        namespaces = dict(self._db.execute(
            "SELECT namespace, count(*) FROM records WHERE collection = ? GROUP BY namespace "
            "ORDER BY namespace", (collection,)
        ).fetchall())
        return CollectionInfo(collection, dims, metric, sum(namespaces.values()), namespaces)

    def _select(self, collection: str, namespace: str | None, columns: str, where: str = "", args=()):
        self._collection_row(collection)
        sql = f"SELECT {columns} FROM records WHERE collection = ?"
        params: list = [collection]
        if namespace is not None:
            sql += " AND namespace = ?"
            params.append(namespace)
        return self._db.execute(sql + where + " ORDER BY rowid", (*params, *args))

    def iter_batches(self, collection, namespace=None, batch_size=1000) -> Iterator[list[Record]]:
        cursor = self._select(collection, namespace, _COLUMNS.split(", ", 1)[1])
        while rows := cursor.fetchmany(batch_size):
            yield [_row_to_record(r) for r in rows]

    def open_collection(self, collection, dims, metric="cosine", create=True) -> None:
        try:
            existing, _ = self._collection_row(collection)
        except CollectionNotFound:
            if not create:
                raise
            self._db.execute(
                "INSERT INTO collections (name, dims, metric) VALUES (?, ?, ?)",
                (collection, dims, metric or "cosine"),
            )
            return
        check_dims(collection, existing, dims)
        if existing is None and dims is not None:
            self._db.execute("UPDATE collections SET dims = ? WHERE name = ?", (dims, collection))

    def write_batch(self, collection, records) -> None:
        rows = [
            (
                collection, r.namespace or "", r.id,
                None if r.vector is None else r.vector.astype("<f4", copy=False).tobytes(),
                r.text, r.model, _json_or_null(r.metadata), r.created_at, r.source_store,
                r.modality, r.score, r.vex_version, _json_or_null(r.sparse_vector),
                _json_or_null(r.extra or None),
            )
            for r in records
        ]
        with self._sqlite_errors("write"), self._db:  # one transaction per batch: all of it, or none
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT, rows)

    def _vector_chunks(self, collection, namespace, chunk=20_000):
        cursor = self._select(collection, namespace, "id, vector", " AND vector IS NOT NULL")
        while rows := cursor.fetchmany(chunk):
            yield [r[0] for r in rows], np.frombuffer(b"".join(r[1] for r in rows), "<f4").reshape(len(rows), -1)

    def search(self, collection, vector, k=10, namespace=None) -> list[Neighbour]:
        _, metric = self._collection_row(collection)
        return top_k(self._vector_chunks(collection, namespace), vector, k, metric)

    def fetch(self, collection, ids, namespace=None) -> list[Record]:
        found = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            where = f" AND id IN ({', '.join('?' * len(part))})"
            cursor = self._select(collection, namespace, _COLUMNS.split(", ", 1)[1], where, part)
            found.extend(_row_to_record(r) for r in cursor)
        return found
