"""Parsing in a child process (import on two cores): same records, same errors, no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.records import assert_same_records, awkward_records, vmig_with_a_bad_line
from vex_dagster.pipeline import export_collection, import_file
from vex_dagster.processes import children_of, has_exited
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import Record, VmigReadError, VmigWriter, parse_worker, read_records
from vex_dagster.vmig.batch_pipe import ChildGone
from vex_dagster.vmig.parse_worker import ParsedBatches

VEX = [sys.executable, "-m", "vex_dagster.cli"]


def _mixed_file(path: Path) -> Path:
    """Awkward records, text-only ones, another dims, unknown fields, a created_at in epoch ms."""
    with VmigWriter(path) as writer:
        writer.write_all(awkward_records(8))
        writer.write(Record(id="text-only", text="no vector yet"))
        writer.write(Record(id="wide", vector=np.arange(16, dtype=np.float32), extra={"x_custom": [1, 2]}))
        writer.write_all(awkward_records(8, seed=3)[:5])
    return path


@pytest.mark.parametrize("skip", [0, 7])
def test_the_child_yields_the_plain_readers_batches(tmp_path, skip):
    path = _mixed_file(tmp_path / "mixed.vmig.jsonl")
    plain = list(ParsedBatches(path, 4, skip, in_worker=False))
    with ParsedBatches(path, 4, skip, in_worker=True) as batches:
        assert batches.child_pid is not None
        forked = list(batches)
    assert [len(b) for b in forked] == [len(b) for b in plain]
    assert [r.to_line() for b in forked for r in b] == [r.to_line() for b in plain for r in b]


def test_a_bad_line_is_raised_after_the_same_batches_with_its_line_and_field(tmp_path):
    path = vmig_with_a_bad_line(tmp_path / "bad.vmig.jsonl", b'{"id": "6", "vector": [1, "two", 3]}\n')
    outcomes = []
    for in_worker in (False, True):
        seen = []
        with ParsedBatches(path, 3, in_worker=in_worker) as batches, pytest.raises(VmigReadError) as raised:
            for batch in batches:
                seen.append([r.id for r in batch])
        outcomes.append((seen, raised.value.line, raised.value.field, str(raised.value)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][:3] == ([["0", "1", "2"], ["3", "4", "5"]], 7, "vector")


def test_a_killed_child_is_an_error_not_a_short_file(tmp_path):
    path = tmp_path / "many.vmig.jsonl"
    with VmigWriter(path) as writer:
        writer.write_all(Record(id=str(i), vector=np.ones(64, np.float32)) for i in range(20_000))
    with ParsedBatches(path, 100, in_worker=True) as batches:
        read = iter(batches)
        next(read)
        os.kill(batches.child_pid, signal.SIGKILL)
        with pytest.raises(ChildGone, match="exited"):
            for _ in read:
                pass


def test_leaving_early_stops_the_child(tmp_path):
    path = tmp_path / "many.vmig.jsonl"
    with VmigWriter(path) as writer:
        writer.write_all(Record(id=str(i), vector=np.ones(64, np.float32)) for i in range(20_000))
    with ParsedBatches(path, 100, in_worker=True) as batches:
        next(iter(batches))
        pid = batches.child_pid
    assert has_exited(pid)


def test_an_import_parsed_in_a_child_exports_the_same_records(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_worker, "WORKER_MIN_BYTES", 0)
    path = _mixed_file(tmp_path / "mixed.vmig.jsonl")
    with VektorStore(str(tmp_path / "v.db")) as store:
        import_file(store, "docs", path, batch_size=4)
        export_collection(store, "docs", tmp_path / "back.vmig.jsonl")
    assert_same_records(list(read_records(path)), list(read_records(tmp_path / "back.vmig.jsonl")))


def test_a_killed_import_leaves_no_parsing_process_behind(tmp_path):
    path = tmp_path / "big.vmig.jsonl"
    with VmigWriter(path) as writer:  # ~20 MB: parsed in a child
        writer.write_all(Record(id=str(i), vector=np.full(384, i, np.float32)) for i in range(8_000))
    assert path.stat().st_size > parse_worker.WORKER_MIN_BYTES
    vex = subprocess.Popen(VEX + ["import", "--to", "vektor", "--path", str(tmp_path / "t.db"), "--collection",
                                  "c", "--in", str(path), "--batch-size", "100"], stderr=subprocess.PIPE)
    checkpoint = tmp_path / "big.vmig.checkpoint.json"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and vex.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    children = children_of(vex.pid)
    vex.kill()
    vex.wait()
    assert children, "the import did not parse in a child process"
    deadline = time.monotonic() + 10
    while not all(has_exited(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(has_exited(pid) for pid in children)
