"""Throughput of vex against the fastest path a user could write by hand, same run.

For each store: import (vmig file -> store) and export (store -> vmig file), vex
against the raw client's bulk path reading/writing the same file with a plain
orjson loop. For the format itself: the vmig reader and writer against orjson
alone. Each pair runs alternately, best of ``--repeat``; the table reports
records/s and the ratio vex/raw time (1.00 = as fast as hand-written code), in
wall-clock time: vex uses a second core (an import parses in a child process, the
writer hashes and writes on a thread), which CPU time would not show. Both
writers fsync the file they finish.

    .venv/bin/python -m bench.throughput            # 10k and 100k x 384-d, 10k x 1536-d
    .venv/bin/python -m bench.throughput --quick    # 10k x 384-d only
    .venv/bin/python -m bench.throughput --write-readme
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

from bench.memory import make_file
from vex_dagster.pipeline import export_collection, import_file
from vex_dagster.stores import open_store
from vex_dagster.stores.embedded_postgres import release
from vex_dagster.vmig import VmigReader, VmigWriter

README = Path(__file__).resolve().parent.parent / "README.md"
BATCH = 1000


def raw_lines(path: Path):
    """The hand-written reader: orjson per line, vectors as float32 arrays."""
    with open(path, "rb") as fh:
        for line in fh:
            obj = orjson.loads(line)
            obj["vector"] = np.array(obj["vector"], dtype=np.float32)
            yield obj


def raw_batches(path: Path):
    batch = []
    for obj in raw_lines(path):
        batch.append(obj)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def raw_write(path: Path, objects) -> None:
    """The hand-written writer; it fsyncs at the end, as vex does, so both leave a durable file."""
    with open(path, "wb") as fh:
        for obj in objects:
            fh.write(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE))
        fh.flush()
        os.fsync(fh.fileno())


class Case:
    """One store: fresh targets per run, a vex path and a raw path for import and export."""

    def __init__(self, store: str, root: Path, settings: dict):
        self.store, self.root, self.settings = store, root, settings
        self.runs = 0

    def fresh(self) -> str:
        self.runs += 1
        return f"bench_{self.runs}"

    def vex_import(self, data: Path) -> str:
        collection = self.fresh()
        with open_store(self.store, self.settings) as store:
            import_file(store, collection, data, batch_size=BATCH)
        return collection

    def vex_export(self, collection: str, out: Path) -> None:
        with open_store(self.store, self.settings) as store:
            export_collection(store, collection, out, batch_size=BATCH)


class VektorCase(Case):
    def raw_import(self, data: Path) -> None:
        db = sqlite3.connect(self.root / f"raw{self.fresh()}.db")
        db.execute("CREATE TABLE r (namespace TEXT, id TEXT, vector BLOB, text TEXT, metadata TEXT, "
                   "PRIMARY KEY (namespace, id))")
        for batch in raw_batches(data):
            db.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?)",
                           [(o["namespace"] or "", o["id"], o["vector"].tobytes(), o["text"],
                             orjson.dumps(o["metadata"])) for o in batch])
            db.commit()
        db.close()

    def raw_export(self, collection: str, out: Path) -> None:
        db = sqlite3.connect(self.settings["path"])
        rows = db.execute("SELECT id, vector, text, namespace, metadata FROM records WHERE collection = ?",
                          (collection,))
        raw_write(out, ({"id": i, "vector": np.frombuffer(v, "<f4"), "text": t, "namespace": n or None,
                         "metadata": orjson.loads(m) if m else None} for i, v, t, n, m in rows))
        db.close()


class PgvectorCase(Case):
    def raw_import(self, data: Path) -> None:
        import psycopg
        from pgvector.psycopg import register_vector

        with psycopg.connect(self.settings["dsn"]) as conn:
            register_vector(conn)
            table = self.fresh()
            conn.execute(f"CREATE TABLE {table} (namespace text, id text, embedding vector({self.dims}), "
                         "text text, metadata jsonb, PRIMARY KEY (namespace, id))")
            for batch in raw_batches(data):
                with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["text", "text", "vector", "text", "jsonb"])
                    for o in batch:
                        copy.write_row((o["namespace"] or "", o["id"], o["vector"], o["text"],
                                        psycopg.types.json.Jsonb(o["metadata"])))
                conn.commit()

    def raw_export(self, collection: str, out: Path) -> None:
        import psycopg
        from pgvector.psycopg import register_vector

        with psycopg.connect(self.settings["dsn"]) as conn:
            register_vector(conn)
            with conn.cursor(name="raw", binary=True) as cursor:
                cursor.execute(f"SELECT id, embedding, text, namespace, metadata FROM {collection}")
                raw_write(out, ({"id": i, "vector": v.to_numpy(), "text": t, "namespace": n or None,
                                 "metadata": m} for i, v, t, n, m in cursor))


class QdrantCase(Case):
    def raw_import(self, data: Path) -> None:
        from qdrant_client import QdrantClient, models

        client = QdrantClient(path=self.settings["path"])
        name = self.fresh()
        client.create_collection(name, vectors_config=models.VectorParams(size=self.dims, distance="Cosine"))
        for batch in raw_batches(data):
            client.upsert(name, points=[models.PointStruct(
                id=start, vector=o["vector"].tolist(), payload={"id": o["id"], "text": o["text"],
                                                                "namespace": o["namespace"], "metadata": o["metadata"]})
                for start, o in enumerate(batch, start=hash(batch[0]["id"]) % 10**9)], wait=True)
        client.close()

    def raw_export(self, collection: str, out: Path) -> None:
        from qdrant_client import QdrantClient

        client = QdrantClient(path=self.settings["path"])

        def points():
            offset = None
            while True:
                page, offset = client.scroll(collection, limit=BATCH, offset=offset, with_vectors=True)
                yield from ({"id": str(p.id), "vector": np.asarray(p.vector, np.float32), **p.payload} for p in page)
                if offset is None:
                    return

        raw_write(out, points())
        client.close()


class ChromaCase(Case):
    def _client(self):
        import chromadb

        return chromadb.PersistentClient(path=self.settings["path"],
                                         settings=chromadb.Settings(anonymized_telemetry=False))

    def raw_import(self, data: Path) -> None:
        col = self._client().create_collection(f"raw{self.fresh()}", embedding_function=None)
        for batch in raw_batches(data):
            col.add(ids=[o["id"] for o in batch], embeddings=np.stack([o["vector"] for o in batch]),
                    documents=[o["text"] for o in batch],
                    metadatas=[{"namespace": o["namespace"] or "", **(o["metadata"] or {})} for o in batch])

    def raw_export(self, collection: str, out: Path) -> None:
        col = self._client().get_collection(collection, embedding_function=None)

        def rows():
            offset = 0
            while page := col.get(limit=BATCH, offset=offset, include=["embeddings", "documents", "metadatas"]):
                if not page["ids"]:
                    return
                for i, v, t, m in zip(page["ids"], page["embeddings"], page["documents"], page["metadatas"]):
                    yield {"id": i, "vector": np.asarray(v, np.float32), "text": t, "metadata": m}
                offset += len(page["ids"])

        raw_write(out, rows())


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_format(data: Path, repeat: int) -> list[tuple[str, float, float]]:
    """Reader and writer, alternately, best of at least 5."""
    out = data.with_name("rewrite.vmig.jsonl")
    records = list(VmigReader(data))
    objects = list(raw_lines(data))
    pairs = {
        "vmig read": (lambda: sum(1 for _ in VmigReader(data)), lambda: sum(1 for _ in raw_lines(data))),
        "vmig write": (lambda: _write_all(out, records), lambda: raw_write(out, objects)),
    }
    rows = []
    for what, (vex, raw) in pairs.items():
        vex_times, raw_times = [], []
        for _ in range(max(5, repeat)):
            vex_times.append(best_of(1, vex))
            raw_times.append(best_of(1, raw))
        rows.append((what, min(vex_times), min(raw_times)))
    return rows


def _write_all(path: Path, records) -> None:
    with VmigWriter(path) as writer:
        writer.write_all(records)


def bench_store(case: Case, data: Path, repeat: int) -> list[tuple[str, float, float]]:
    collection = case.vex_import(data)  # warm up, and the collection both exports read
    out = data.with_name("export.vmig.jsonl")
    return [
        (f"{case.store} import", best_of(repeat, lambda: case.vex_import(data)),
         best_of(repeat, lambda: case.raw_import(data))),
        (f"{case.store} export", best_of(repeat, lambda: case.vex_export(collection, out)),
         best_of(repeat, lambda: case.raw_export(collection, out))),
    ]


def cases(root: Path, dims: int, stores: list[str]) -> list[Case]:
    from vex_dagster.stores.embedded_postgres import embedded_dsn

    made = {
        "vektor": lambda: VektorCase("vektor", root, {"path": str(root / "vektor.db")}),
        "pgvector": lambda: PgvectorCase("pgvector", root, {"dsn": embedded_dsn(root / "pg"), "index": "none"}),
        "qdrant": lambda: QdrantCase("qdrant", root, {"path": str(root / "qdrant")}),
        "chroma": lambda: ChromaCase("chroma", root, {"path": str(root / "chroma")}),
    }
    chosen = [made[s]() for s in stores]
    for case in chosen:
        case.dims = dims
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k x 384-d only")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--stores", nargs="+", default=["vektor", "pgvector", "qdrant", "chroma"])
    parser.add_argument("--write-readme", action="store_true", help="replace the table in README.md")
    args = parser.parse_args()
    shapes = [(10_000, 384)] if args.quick else [(10_000, 384), (100_000, 384), (10_000, 1536)]
    lines = ["| what | records | dims | vex rec/s | raw rec/s | vex / raw time |", "|---|---:|---:|---:|---:|---:|"]
    for count, dims in shapes:
        with tempfile.TemporaryDirectory(prefix="vex-bench-") as tmp:
            data = Path(tmp) / "data.vmig.jsonl"
            make_file(data, count, dims)
            rows = bench_format(data, args.repeat)
            for case in cases(Path(tmp), dims, [s for s in args.stores if count <= 10_000 or s != "qdrant"]):
                rows += bench_store(case, data, args.repeat)
            for what, vex, raw in rows:
                line = (f"| {what} | {count:,} | {dims} | {count / vex:,.0f} | {count / raw:,.0f} | "
                        f"{vex / raw:.2f} |")
                lines.append(line)
                print(line, flush=True)
            if "pgvector" in args.stores:
                release(Path(tmp) / "pg")  # stop the server before its folder is deleted
    if args.write_readme:
        table = "\n".join(lines)
        text = README.read_text()
        text = re.sub(r"(<!-- bench:throughput -->\n).*?(<!-- /bench:throughput -->)",
                      lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
        README.write_text(text)


if __name__ == "__main__":
    main()
