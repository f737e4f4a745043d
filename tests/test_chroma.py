"""Chroma specifics, against the real server (`chroma run`) and PersistentClient."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import numpy as np
import orjson
import pytest

from tests.records import awkward_records, by_key
from tests.servers import free_port, http_ok, running
from vex_dagster.checkpoint import Checkpoint
from vex_dagster.pipeline import export_collection, import_file
from vex_dagster.stores.chroma import ChromaStore
from vex_dagster.vmig import Record, VmigWriter

pytestmark = pytest.mark.server


def _name():
    return f"c_{uuid.uuid4().hex[:8]}"


def _vmig(path, count, dims=8, metric="cosine", namespaces=("",)):
    rng = np.random.default_rng(1)
    with VmigWriter(path, metric=metric) as writer:
        for i in range(count):
            writer.write(Record(id=f"r{i}", vector=rng.standard_normal(dims).astype(np.float32),
                                text=f"text {i}", namespace=namespaces[i % len(namespaces)] or None))
    return path


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_distance_is_carried_both_ways(chroma_server, tmp_path, metric):
    name = _name()
    with ChromaStore(url=chroma_server["url"]) as store:
        import_file(store, name, _vmig(tmp_path / "in.vmig.jsonl", 3, metric=metric))
        space = store._open(name).configuration["hnsw"]["space"]
        result = export_collection(store, name, tmp_path / "out.vmig.jsonl")
    assert space == {"cosine": "cosine", "dot": "ip", "euclidean": "l2"}[metric]
    assert result.meta.metric == metric


def test_persistent_client_keeps_awkward_records(tmp_path):
    records = awkward_records(5)
    with ChromaStore(path=str(tmp_path / "db")) as store:
        store.write_batches("awkward", [records], dims=5)
    with ChromaStore(path=str(tmp_path / "db")) as store:
        back = by_key([r for b in store.iter_batches("awkward") for r in b])
    for key, record in by_key(records).items():
        assert (back[key].text, back[key].metadata) == (record.text, record.metadata)


def test_collection_per_namespace(tmp_path):
    path = str(tmp_path / "db")
    with ChromaStore(path=path, collection_per_namespace=True) as store:
        import_file(store, "docs", _vmig(tmp_path / "ns.vmig.jsonl", 9, namespaces=("", "faq", "blog")))
        names = sorted(c.name if hasattr(c, "name") else c for c in store._client.list_collections())
        info = store.describe("docs")
        faq = [r for b in store.iter_batches("docs", namespace="faq") for r in b]
    assert names == ["docs", "docs--blog", "docs--faq"]
    assert info.namespaces == {"": 3, "blog": 3, "faq": 3}
    assert {r.namespace for r in faq} == {"faq"} and len(faq) == 3


def test_batches_above_the_servers_max_are_split(chroma_server, tmp_path):
    with ChromaStore(url=chroma_server["url"]) as store:
        limit = store._max_batch
        name = _name()
        result = import_file(store, name, _vmig(tmp_path / "big.vmig.jsonl", limit + 10, dims=4),
                             batch_size=limit + 10)
        assert store.describe(name).count == limit + 10 == result.records


@pytest.mark.slow
def test_server_stopped_mid_import_then_resume_gives_exact_count(tmp_path):
    """Stop the real server under a running `vex import`; the run fails, the resume completes."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    command = [str(sys.executable).replace("python", "chroma"), "run", "--path", str(tmp_path / "data"),
               "--host", "127.0.0.1", "--port", str(port)]
    data = _vmig(tmp_path / "load.vmig.jsonl", 6000, dims=16)
    vex = [sys.executable, "-m", "vex_dagster.cli", "import", "--to", "chroma", "--url", url,
           "--collection", "resumed", "--in", str(data), "--batch-size", "100"]
    checkpoint = Checkpoint.path_for(data)
    with running(command, http_ok(url + "/api/v2/heartbeat"), name="chroma", log=tmp_path / "1.log", env=env) as server:
        importing = subprocess.Popen(vex, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while not checkpoint.exists():
            time.sleep(0.05)
        server.kill()
        _, stderr = importing.communicate(timeout=120)
    assert importing.returncode != 0, "the import must fail when its server is gone"
    done = orjson.loads(checkpoint.read_bytes())["records_done"]
    assert 0 < done < 6000
    with running(command, http_ok(url + "/api/v2/heartbeat"), name="chroma", log=tmp_path / "2.log", env=env):
        resumed = subprocess.run(vex + ["--resume"], capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        assert f"resumed after {done:,}" in resumed.stdout
        with ChromaStore(url=url) as store:
            ids = [r.id for b in store.iter_batches("resumed", batch_size=5000) for r in b]
    assert len(ids) == len(set(ids)) == 6000
    assert not checkpoint.exists()
