"""`vex validate`: each rule on a hand-broken file reports the right line and field."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from vex_dagster.cli import main
from vex_dagster.vmig import VmigWriter, read_records
from vex_dagster.vmig.record import Record
import numpy as np


def _good(i, **changes):
    record = {"id": f"r{i}", "vector": [0.5, 0.25, 1.0], "dims": 3, "text": f"t{i}", "model": None,
              "namespace": None, "metadata": {"k": i}, "created_at": None, "source_store": None,
              "modality": "text", "vex_version": "1.0.0"}
    record.update(changes)
    return orjson.dumps(record)


def _file(tmp_path, lines, *, with_meta=False, name="f.vmig.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _validate(path, *flags):
    result = CliRunner().invoke(main, ["validate", str(path), "--json", *flags])
    return result.exit_code, orjson.loads(result.output)


BROKEN = {
    "json syntax": (b'{"id": "r1", "vector": [1, 2', None, "not valid JSON"),
    "missing id": (_good(1, id=None), "id", "non-empty string"),
    "missing vex_version": (_good(1).replace(b',"vex_version":"1.0.0"', b""), "vex_version", "required"),
    "bad type": (_good(1, text=5), "text", "string or null"),
    "dims mismatch": (_good(1, dims=4), "dims", "dims is 4 but the vector has 3"),
    "NaN": (_good(1).replace(b"0.25", b"NaN"), "vector", "non-finite"),
    "Infinity": (_good(1).replace(b"0.25", b"-Infinity"), "vector", "non-finite"),
    "beyond float32": (_good(1).replace(b"0.25", b"1e39"), "vector", "beyond float32"),
    "no vector no text": (_good(1, vector=None, text=None, dims=None), "vector", "no text to embed"),
    "metadata not object": (_good(1, metadata=[1, 2]), "metadata", "object or null"),
    "bad semver": (_good(1, vex_version="one"), "vex_version", "semver"),
    "bad sparse": (_good(1, sparse_vector={"indices": [1], "values": []}), "sparse_vector", "equal length"),
    "not utf-8": (b'{"id": "r1\xff", "vector": [1.0], "vex_version": "1.0.0"}', None, "UTF-8"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_each_rule_reports_line_and_field(tmp_path, name):
    bad, field, words = BROKEN[name]
    path = _file(tmp_path, [_good(0), bad, _good(2)])
    code, report = _validate(path)
    assert code == 1 and not report["ok"]
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert errors, report
    assert errors[0]["line"] == 2 and errors[0]["field"] == field and words in errors[0]["message"]


def test_duplicate_ids_name_the_first_line(tmp_path):
    path = _file(tmp_path, [_good(0), _good(1), _good(2), _good(1, text="again")])
    code, report = _validate(path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and problem["line"] == 4 and problem["field"] == "id" and "first on line 2" in problem["message"]


def test_same_id_in_two_namespaces_is_fine(tmp_path):
    path = _file(tmp_path, [_good(1), _good(1, namespace="faq")])
    assert _validate(path)[0] == 0


def test_mixed_dims_within_a_namespace(tmp_path):
    path = _file(tmp_path, [_good(0), _good(1, vector=[1.0, 2.0], dims=2), _good(2, vector=[1.0], dims=1,
                                                                                namespace="other")])
    code, report = _validate(path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["line"] == 2 and problem["field"] == "dims" and "(line 1)" in problem["message"]


def test_truncated_last_line_and_blank_line(tmp_path):
    path = tmp_path / "cut.vmig.jsonl"
    path.write_bytes(_good(0) + b"\n\n" + _good(2)[:-10])
    _, report = _validate(path)
    messages = [(p["line"], p["message"]) for p in report["problems"]]
    assert any(line == 2 and "blank line" in m for line, m in messages)
    assert any(line == 3 and "truncated" in m for line, m in messages)


def test_count_and_checksum_against_the_meta_file(tmp_path):
    path = tmp_path / "ok.vmig.jsonl"
    with VmigWriter(path) as writer:
        writer.write_all(Record(id=str(i), vector=np.ones(2, np.float32)) for i in range(3))
    assert _validate(path)[0] == 0
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"0"', b'"9"', 1))  # a flipped byte
    code, report = _validate(path)
    assert code == 1 and [p["field"] for p in report["problems"]] == ["checksum"]
    path.write_bytes(data + data.splitlines(keepends=True)[0].replace(b'"0"', b'"7"'))
    assert {p["field"] for p in _validate(path)[1]["problems"]} >= {"record_count", "checksum"}


def test_strict_rejects_nested_metadata(tmp_path):
    path = _file(tmp_path, [_good(0, metadata={"a": {"b": 1}})])
    assert _validate(path)[0] == 0
    code, report = _validate(path, "--strict")
    assert code == 1 and report["problems"][0]["field"] == "metadata"


def test_empty_file_is_an_error_and_human_output_names_the_line(tmp_path):
    empty = tmp_path / "empty.vmig.jsonl"
    empty.write_bytes(b"")
    assert _validate(empty)[0] == 1
    path = _file(tmp_path, [_good(0), _good(1, dims=9)])
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "line 2: error [dims]: dims is 9 but the vector has 3" in result.output


def test_validate_does_not_load_the_file(tmp_path):
    """A streaming check: the reader holds one line; here, 50k records lint with a small report."""
    path = tmp_path / "big.vmig.jsonl"
    with VmigWriter(path) as writer:
        writer.write_all(Record(id=str(i), vector=np.ones(8, np.float32)) for i in range(50_000))
    code, report = _validate(path)
    assert code == 0 and report["records"] == 50_000 and report["problems"] == []
    assert sum(1 for _ in read_records(path)) == 50_000
