"""Awkward records for round trips, and the comparison a user would make."""

from __future__ import annotations

import uuid

import numpy as np

from vex_dagster.vmig.io import VmigWriter
from vex_dagster.vmig.record import Record

LONG_TEXT = "Ünïcödé ✓ 向量 " * 2000  # ~30k characters, multi-byte


def awkward_records(dims: int, seed: int = 7) -> list[Record]:
    """Ids that look like integers, UUIDs and neither; every metadata shape; namespaces."""
    rng = np.random.default_rng(seed)
    ids = [
        "0", "42", "18446744073709551615", str(uuid.UUID(int=rng.integers(2**62).item())),
        "a6c8d0a8-3f4e-4b0e-9a1f-2f7b5e8c9d10", "doc#1/é", "x" * 200, "  spaced id ",
        "-7", "3.14",
    ]
    metadata = [
        {}, None, {"nested": {"a": [1, {"b": None}], "c": "d"}}, {"flag": True, "off": False},
        {"tags": ["red", "green"], "nums": [1, 2, 3], "mixed": [1, "a", None]},
        {"big": 2**63 - 1, "neg": -(2**53) - 1, "float": 0.1, "zero": 0.0},
        {"none": None, "empty_list": [], "empty_obj": {}}, {"unicode ключ": "значение ✓"},
        {"text": "a metadata key named text", "namespace": "and one named namespace"},
        {"deep": {"x": {"y": {"z": [True, 1.5]}}}},
    ]
    texts = ["hello", LONG_TEXT, "", "emoji 🎉 and\nnewlines\ttabs", None, "quotes \" ' \\",
             "中文文本", "x", "same", "end"]
    namespaces = [None, None, "tenant-a", "tenant-a", "tenant_b", None, "tenant_b", "tenant-a", None, None]
    records = []
    for i, rid in enumerate(ids):
        vector = rng.standard_normal(dims).astype(np.float32)
        records.append(Record(
            id=rid, vector=vector, text=texts[i], model="test-model", namespace=namespaces[i],
            metadata=metadata[i], created_at="2026-01-02T03:04:05Z",
        ))
    return records


def by_key(records):
    return {(r.namespace or "", r.id): r for r in records}


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def assert_same_records(expected, actual, *, exact_vectors=True, losses=()):
    """ids, text, namespace, metadata equal; vectors bit-exact or cosine >= 0.99999."""
    want, got = by_key(expected), by_key(actual)
    assert sorted(got) == sorted(want), "the set of (namespace, id) changed"
    for key, record in want.items():
        other = got[key]
        if "text" in losses and record.text and len(record.text.encode()) > 40_000:
            # the documented loss: a text too long for the store is truncated, never dropped
            assert other.text and record.text.startswith(other.text) and other.text != record.text, key
        else:
            assert other.text == record.text, f"text of {key}"
        if "metadata" not in losses:
            assert other.metadata == record.metadata, f"metadata of {key}"
        if exact_vectors:
            assert np.array_equal(other.vector, record.vector), f"vector of {key}"
        else:
            assert cosine(other.vector, record.vector) >= 0.99999, f"vector of {key}"


def vmig_with_a_bad_line(path, bad: bytes, count: int = 10, line: int = 7):
    """``count`` small records in a vmig file whose line ``line`` (1-based) is ``bad``."""
    with VmigWriter(path) as writer:
        writer.write_all(Record(id=str(i), vector=np.ones(3, np.float32)) for i in range(count))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[line - 1] = bad
    path.write_bytes(b"".join(lines))
    return path
