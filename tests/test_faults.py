"""Bad input and a full disk: a clear error, a non-zero exit, nothing partial presented as complete."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys

import numpy as np
import orjson
import pytest

from tests.records import vmig_with_a_bad_line
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import Record, VmigWriter

VEX = [sys.executable, "-m", "vex_dagster.cli"]


def _limit_file_size():
    """A small disk: writes past 2 MB fail with EFBIG (SIGXFSZ ignored, as a full disk would)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))


def test_a_full_disk_on_export_fails_clearly_and_leaves_no_file(tmp_path):
    rng = np.random.default_rng(0)
    with VmigWriter(tmp_path / "src" / "docs.vmig.jsonl") as writer:  # ~12 MB, read-only under the limit
        writer.write_all(Record(id=str(i), vector=rng.standard_normal(384).astype(np.float32)) for i in range(3000))
    out = tmp_path / "out" / "docs.vmig.jsonl"
    result = subprocess.run(VEX + ["export", "--from", "jsonl", "--dir", str(tmp_path / "src"), "--collection",
                                   "docs", "--out", str(out)], capture_output=True, text=True, preexec_fn=_limit_file_size,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error:") and "File too large" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not (tmp_path / "out" / "docs.vmig.meta.json").exists()
    assert not list((tmp_path / "out").glob("*.part"))


@pytest.mark.slow
def test_a_100_mb_single_line_is_validated_and_imported(tmp_path):
    path = tmp_path / "huge.vmig.jsonl"
    with VmigWriter(path) as writer:
        writer.write(Record(id="small", vector=np.ones(4, np.float32), text="x"))
        writer.write(Record(id="huge", vector=np.ones(4, np.float32), text="é" * 50_000_000))  # 100 MB of UTF-8
    validate = subprocess.run(VEX + ["validate", str(path), "--json"], capture_output=True, timeout=300)
    assert validate.returncode == 0 and orjson.loads(validate.stdout)["records"] == 2
    imported = subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(tmp_path / "t.db"),
                                     "--collection", "c", "--in", str(path)], capture_output=True, text=True,
                              timeout=300)
    assert imported.returncode == 0, imported.stderr
    with VektorStore(str(tmp_path / "t.db")) as store:
        (huge,) = store.fetch("c", ["huge"])
    assert len(huge.text) == 50_000_000


def test_a_malformed_line_mid_file_stops_the_import_at_that_line(tmp_path):
    path = vmig_with_a_bad_line(tmp_path / "bad.vmig.jsonl", b'{"id": "6", "vector": [1, 2,\n')
    result = subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(tmp_path / "t.db"), "--collection",
                                   "c", "--in", str(path), "--no-verify", "--batch-size", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "bad.vmig.jsonl:7: not valid JSON" in result.stderr
    with VektorStore(str(tmp_path / "t.db")) as store:
        assert store.describe("c").count == 6  # two whole batches before the bad line, nothing after


def test_a_full_disk_under_the_vektor_store_is_one_clear_line(tmp_path):
    src = tmp_path / "d.vmig.jsonl"
    with VmigWriter(src) as writer:
        writer.write_all(Record(id=str(i), vector=np.ones(384, np.float32)) for i in range(3000))
    result = subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(tmp_path / "t.db"), "--collection", "c",
                                   "--in", str(src)], capture_output=True, text=True, preexec_fn=_limit_file_size,
                            timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: vektor write failed on" in result.stderr
