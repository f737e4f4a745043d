"""The vex CLI between the embedded stores, every field compared."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tests.records import awkward_records, by_key
from vex_dagster.cli import main
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import read_meta, read_records

FIELDS = ("id", "text", "model", "namespace", "metadata", "created_at", "modality", "score", "vex_version",
          "sparse_vector", "extra")


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def seeded(tmp_path):
    records = awkward_records(6)
    records[0].sparse_vector = {"indices": [1, 4], "values": [0.5, 0.25]}
    records[1].extra = {"custom_field": [1, {"x": None}]}
    records[2].score = 0.75
    with VektorStore(str(tmp_path / "a.db")) as store:
        store.write_batches("docs", [records], dims=6, metric="dot")
    return records


def _assert_identical(expected, actual):
    want, got = by_key(expected), by_key(actual)
    assert sorted(want) == sorted(got)
    for key, record in want.items():
        for field in FIELDS:
            assert getattr(got[key], field) == getattr(record, field), (key, field)
        assert np.array_equal(got[key].vector, record.vector)


def test_vektor_to_jsonl_to_vektor_gives_back_identical_records(tmp_path, seeded):
    out = tmp_path / "docs.vmig.jsonl"
    summary = _run("export", "--from", "vektor", "--path", tmp_path / "a.db", "--collection", "docs", "--out", out)
    assert "exported 10 records" in summary and "records/s" in summary
    assert read_meta(out).metric == "dot"
    _assert_identical(seeded, read_records(out))
    _run("import", "--to", "vektor", "--path", tmp_path / "b.db", "--collection", "copy", "--in", out)
    _run("migrate", "--from", "vektor", "--from-path", tmp_path / "b.db", "--to", "jsonl", "--to-dir",
         tmp_path / "files", "--collection", "copy", "--workdir", tmp_path / "work", "--remove-file")
    assert not list((tmp_path / "work").glob("*.vmig.jsonl"))
    _run("migrate", "--from", "jsonl", "--from-dir", tmp_path / "files", "--to", "vektor", "--to-path",
         tmp_path / "c.db", "--collection", "copy", "--to-collection", "final", "--workdir", tmp_path / "work")
    with VektorStore(str(tmp_path / "c.db")) as store:
        assert store.describe("final").metric == "dot"
        _assert_identical(seeded, [r for b in store.iter_batches("final") for r in b])


def test_settings_come_from_environment_variables(tmp_path, seeded, monkeypatch):
    monkeypatch.setenv("VEX_VEKTOR_PATH", str(tmp_path / "a.db"))
    output = _run("describe", "--from", "vektor", "--collection", "docs")
    assert '"count": 10' in output and '"dims": 6' in output


def test_import_refuses_a_corrupt_file_before_writing(tmp_path, seeded):
    out = tmp_path / "docs.vmig.jsonl"
    _run("export", "--from", "vektor", "--path", tmp_path / "a.db", "--collection", "docs", "--out", out)
    out.write_bytes(out.read_bytes()[:-40])  # truncated
    result = CliRunner().invoke(main, ["import", "--to", "vektor", "--path", str(tmp_path / "b.db"),
                                       "--collection", "docs", "--in", str(out)])
    assert result.exit_code == 1 and "truncated" in result.output
    with VektorStore(str(tmp_path / "b.db")) as store:
        assert store.collections() == []


def test_import_refuses_other_dims_before_writing(tmp_path, seeded):
    out = tmp_path / "docs.vmig.jsonl"
    _run("export", "--from", "vektor", "--path", tmp_path / "a.db", "--collection", "docs", "--out", out)
    with VektorStore(str(tmp_path / "b.db")) as store:
        store.write_batches("docs", [awkward_records(3)[:1]], dims=3)
    result = CliRunner().invoke(main, ["import", "--to", "vektor", "--path", str(tmp_path / "b.db"),
                                       "--collection", "docs", "--in", str(out)])
    assert result.exit_code == 1 and "3-d vectors but the records are 6-d" in result.output
    with VektorStore(str(tmp_path / "b.db")) as store:
        assert store.describe("docs").count == 1


def test_query_on_vektor_returns_the_exact_neighbours(tmp_path):
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    from vex_dagster.vmig import Record
    with VektorStore(str(tmp_path / "q.db")) as store:
        store.write_batches("q", [[Record(id=f"v{i}", vector=v) for i, v in enumerate(vectors)]], dims=16)
    output = _run("query", "--from", "vektor", "--path", tmp_path / "q.db", "--collection", "q", "--like", "v7",
                  "-k", "5")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = [f"v{i}" for i in np.argsort(-(unit @ unit[7]))[:5]]
    assert [line.split()[-1] for line in output.strip().splitlines()] == expected


def test_help_explains_each_command():
    for command in ("export", "import", "migrate", "validate", "describe", "query"):
        output = _run(command, "--help")
        assert "Usage:" in output and "--help" in output
    assert "VEX_<STORE>_<SETTING>" in _run("--help")
