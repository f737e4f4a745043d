"""API keys never show: not in output, errors, --help, meta files or source info."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vex_dagster.stores import available_store_classes, resolve_settings
from vex_dagster.vmig import Record, VmigWriter

FAKE = "sk-test-FAKE-KEY-0123456789abcdef"


@pytest.mark.slow
def test_a_secret_never_appears_in_cli_output_errors_or_files(tmp_path):
    data = tmp_path / "d.vmig.jsonl"
    with VmigWriter(data) as writer:
        writer.write(Record(id="1", vector=np.ones(3, np.float32)))
    env = {"VEX_QDRANT_API_KEY": FAKE, "VEX_PINECONE_API_KEY": FAKE, "VEX_WEAVIATE_API_KEY": FAKE,
           "VEX_PGVECTOR_DSN": f"postgresql://u:{FAKE}@127.0.0.1:1/db", "PATH": "/usr/bin:/bin"}
    runs = [
        ["import", "--to", "qdrant", "--url", "http://127.0.0.1:1", "--collection", "c", "--in", str(data)],
        ["import", "--to", "qdrant", "--url", "http://127.0.0.1:1", "--api-key", FAKE, "--collection", "c",
         "--in", str(data)],
        ["import", "--to", "pgvector", "--collection", "c", "--in", str(data)],
        ["import", "--to", "weaviate", "--url", "http://127.0.0.1:1", "--grpc-port", "2", "--collection", "c",
         "--in", str(data)],
        ["export", "--from", "vektor", "--path", str(tmp_path / "v.db"), "--collection", "nope",
         "--out", str(tmp_path / "o.vmig.jsonl")],
        ["--help"], ["import", "--help"], ["migrate", "--help"],
    ]
    for args in runs:
        result = subprocess.run([sys.executable, "-m", "vex_dagster.cli", *args], capture_output=True, text=True,
                                env=env, timeout=120)
        assert FAKE not in result.stdout + result.stderr, args
    for path in tmp_path.iterdir():
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            assert FAKE not in path.read_text(errors="replace"), path


def test_secret_settings_are_declared_and_kept_out_of_source_info(monkeypatch, tmp_path):
    for name, cls in available_store_classes().items():
        for setting in cls.settings:
            if setting.name in ("api_key", "dsn", "token", "password"):
                assert setting.secret, f"{name}.{setting.name} must be declared secret"
    monkeypatch.setenv("VEX_QDRANT_API_KEY", FAKE)
    assert resolve_settings("qdrant")["api_key"] == FAKE
    from vex_dagster.stores.qdrant import QdrantStore

    with QdrantStore(path=str(tmp_path / "q"), api_key=FAKE) as store:
        assert FAKE not in repr(store.source_info("c"))
