"""Interrupted runs: kill `vex import` / `vex migrate` / `vex export` mid-way, then resume."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import orjson
import pytest

from tests.records import by_key
from vex_dagster.checkpoint import Checkpoint
from vex_dagster.pipeline import import_file
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import Record, VmigWriter, read_records

pytestmark = pytest.mark.slow
COUNT = 30_000
VEX = [sys.executable, "-m", "vex_dagster.cli"]


@pytest.fixture(scope="module")
def source_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("resume") / "load.vmig.jsonl"
    rng = np.random.default_rng(11)
    with VmigWriter(path) as writer:
        for i in range(COUNT):
            writer.write(Record(id=f"r{i}", vector=rng.standard_normal(32).astype(np.float32), text=f"t{i}",
                                namespace=("a", "b", None)[i % 3], metadata={"i": i}))
    return path


def _interrupt(command, checkpoint, sig, rng):
    """Start ``command``; once its checkpoint counts a random number of records (up to
    80 % of the file), signal it. Watched from the file, not timed: an import takes a
    fraction of a second here, and a random sleep often landed after its end."""
    target = rng.randrange(1, int(COUNT * 0.8))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while _records_done(checkpoint) < target:
        if process.poll() is not None:
            pytest.fail(f"finished before it could be interrupted: {process.stderr.read()}")
        time.sleep(0.001)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def _records_done(checkpoint) -> int:
    try:
        return orjson.loads(checkpoint.read_bytes())["records_done"]
    except (FileNotFoundError, orjson.JSONDecodeError):
        return -1


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
@pytest.mark.parametrize("seed", [1, 2])
def test_killed_import_resumes_exactly(tmp_path, source_file, sig, seed):
    db = tmp_path / "target.db"
    command = VEX + ["import", "--to", "vektor", "--path", str(db), "--collection", "docs",
                     "--in", str(source_file), "--batch-size", "500"]
    checkpoint = Checkpoint.path_for(source_file)
    code, stderr = _interrupt(command, checkpoint, sig, random.Random(seed))
    assert code in (-9, 130), stderr
    if sig == signal.SIGINT:
        assert "--resume" in stderr  # the user is told how to continue
    done = orjson.loads(checkpoint.read_bytes())["records_done"]
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed after {done:,}" in resumed.stdout
    with VektorStore(str(db)) as store:
        back = [r for b in store.iter_batches("docs", batch_size=5000) for r in b]
    assert len(back) == COUNT
    want = by_key(read_records(source_file))
    for key, record in by_key(back).items():
        assert np.array_equal(record.vector, want[key].vector) and record.metadata == want[key].metadata
    assert not checkpoint.exists()


def test_killed_migrate_resumes_from_the_intermediate_file(tmp_path, source_file):
    src_db, dst_db = tmp_path / "src.db", tmp_path / "dst.db"
    subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(src_db), "--collection", "docs",
                          "--in", str(source_file)], check=True, capture_output=True)
    command = VEX + ["migrate", "--from", "vektor", "--from-path", str(src_db), "--to", "vektor", "--to-path",
                     str(dst_db), "--collection", "docs", "--workdir", str(tmp_path / "work"), "--batch-size", "500"]
    checkpoint = Checkpoint.path_for(tmp_path / "work" / "vektor-docs.vmig.jsonl")
    code, stderr = _interrupt(command, checkpoint, signal.SIGKILL, random.Random(3))
    assert code == -9, stderr
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    with VektorStore(str(dst_db)) as store:
        assert store.describe("docs").count == COUNT


def test_interrupted_export_leaves_no_file_under_the_final_name(tmp_path, source_file):
    db = tmp_path / "src.db"
    subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(db), "--collection", "docs",
                          "--in", str(source_file)], check=True, capture_output=True)
    out = tmp_path / "out" / "docs.vmig.jsonl"
    process = subprocess.Popen(VEX + ["export", "--from", "vektor", "--path", str(db), "--collection", "docs",
                                      "--out", str(out), "--batch-size", "100"], stderr=subprocess.PIPE)
    while not any(out.parent.glob("*.part")) and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the export finished before the signal landed")
    assert not out.exists() and not out.with_name("docs.vmig.meta.json").exists()
    assert not any(out.parent.glob("*.part")), "Ctrl-C removes the partial file"


def test_the_temporary_of_an_export_killed_with_kill_9_is_removed_by_the_next_export(tmp_path, source_file):
    """kill -9 cannot be caught, so the partial file stays; at 1M records that is gigabytes
    per kill, so the next export of the same file removes it."""
    db = tmp_path / "src.db"
    subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(db), "--collection", "docs",
                          "--in", str(source_file)], check=True, capture_output=True)
    out = tmp_path / "out" / "docs.vmig.jsonl"
    export = VEX + ["export", "--from", "vektor", "--path", str(db), "--collection", "docs", "--out", str(out),
                    "--batch-size", "100"]
    process = subprocess.Popen(export, stderr=subprocess.PIPE)
    while not any(out.parent.glob("*.part")) and process.poll() is None:
        time.sleep(0.005)
    process.kill()
    process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the export finished before the signal landed")
    assert not out.exists() and len(list(out.parent.glob("*.part"))) == 1
    subprocess.run(export, check=True, capture_output=True, timeout=120)
    assert out.exists() and not any(out.parent.glob("*.part"))


def test_a_completed_import_removes_the_checkpoint_temporary_of_a_killed_run(tmp_path, source_file):
    """A kill -9 while a checkpoint is being saved leaves its temporary; finishing clears it."""
    finished = subprocess.Popen(["true"])
    finished.wait()
    checkpoint = Checkpoint.path_for(source_file)
    left = checkpoint.with_name(f".{checkpoint.name}.{socket.gethostname()}-{finished.pid}.part")
    left.write_bytes(b'{"records_done": 10')
    with VektorStore(str(tmp_path / "t.db")) as store:
        import_file(store, "docs", source_file, batch_size=5000)
    assert not left.exists() and not checkpoint.exists()
