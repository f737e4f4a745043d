"""The .vmig.jsonl format: lossless float32, the original Vex's checksum, gzip, its variants."""

from __future__ import annotations

import hashlib
import subprocess

import numpy as np
import orjson
import pytest

from vex_dagster.vmig import Record, VmigReader, VmigWriter, file_checksum, read_meta, read_records


def _random_float32(rng, n):
    special = np.array([0.0, -0.0, 1e-45, -1e-45, 1.17549435e-38, 3.4028235e38, -3.4028235e38, 0.1, 1 / 3],
                       dtype=np.float32)
    bits = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    return np.concatenate([special, bits[np.isfinite(bits)]])


def test_float32_round_trip_is_bit_exact_and_rewrite_is_byte_exact(tmp_path):
    rng = np.random.default_rng(0)
    vectors = [_random_float32(rng, 500) for _ in range(20)]
    first, second = tmp_path / "a.vmig.jsonl", tmp_path / "b.vmig.jsonl"
    with VmigWriter(first) as writer:
        for i, vector in enumerate(vectors):
            writer.write(Record(id=str(i), vector=vector, metadata={"i": i}))
    back = list(read_records(first))
    for vector, record in zip(vectors, back):
        assert record.vector.view(np.uint32).tolist() == vector.view(np.uint32).tolist()  # -0.0 too
    with VmigWriter(second) as writer:
        writer.write_all(back)
    assert first.read_bytes() == second.read_bytes()


def _original_vex_checksum(lines: list[bytes]) -> str:
    """The original Vex's rule, restated: sha256 over the record lines joined by LF."""
    return "sha256:" + hashlib.sha256(b"\n".join(lines)).hexdigest()


@pytest.mark.parametrize("count,dims", [(50, 4), (3000, 384)], ids=["one-chunk", "many-chunks"])
def test_checksum_is_the_original_vex_rule_and_sha256sum_agrees(tmp_path, count, dims):
    """The writer hashes 1 MB chunks on a thread; the sum is still that of the lines."""
    path = tmp_path / "docs.vmig.jsonl"
    with VmigWriter(path, source_store="vektor") as writer:
        for i in range(count):
            writer.write(Record(id=f"d{i}", vector=np.full(dims, i / 7, np.float32), text=f"ü {i}"))
    meta = read_meta(path)
    assert meta.checksum == _original_vex_checksum(path.read_bytes().split(b"\n")[:-1])
    shell = subprocess.run(f"head -c -1 {path} | sha256sum", shell=True, capture_output=True, text=True, check=True)
    assert meta.checksum == "sha256:" + shell.stdout.split()[0]
    assert file_checksum(path).checksum == meta.checksum


def test_a_file_written_by_the_original_vex_verifies_and_reads(tmp_path):
    """Built here line by line as the Node tool writes it: its field variants included."""
    lines = [
        orjson.dumps({"id": "a", "vector": [0.5, 0.25], "dims": 2, "text": "x", "source": "pinecone",
                      "created_at": 1767225600000, "vex_version": "0.9.2", "score": 0.87}),
        orjson.dumps({"id": "b", "vector": None, "text": "embed me later", "created_at": 1767225600,
                      "vex_version": "0.9.2"}),
    ]
    path = tmp_path / "legacy.vmig.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "legacy.vmig.meta.json").write_bytes(orjson.dumps({
        "record_count": 2, "source": "pinecone", "checksum": _original_vex_checksum(lines)}))
    assert file_checksum(path).checksum == read_meta(path).checksum
    a, b = read_records(path)
    assert a.source_store == "pinecone" and a.score == pytest.approx(0.87)
    assert a.created_at == b.created_at == "2026-01-01T00:00:00Z"  # epoch ms and s alike
    assert b.vector is None and b.text == "embed me later"
    assert read_meta(path).source_store == "pinecone"


def test_gzip_files_read_and_checksum_over_uncompressed_lines(tmp_path):
    plain, packed = tmp_path / "p.vmig.jsonl", tmp_path / "z.vmig.jsonl.gz"
    for path in (plain, packed):
        with VmigWriter(path) as writer:
            writer.write_all(Record(id=str(i), vector=np.ones(3, np.float32) * i) for i in range(10))
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert read_meta(packed).checksum == read_meta(plain).checksum
    assert [r.id for r in VmigReader(packed)] == [str(i) for i in range(10)]


def test_an_interrupted_write_leaves_nothing_under_the_final_name(tmp_path):
    path = tmp_path / "half.vmig.jsonl"
    with pytest.raises(RuntimeError):
        with VmigWriter(path) as writer:
            writer.write(Record(id="1", vector=np.ones(2, np.float32)))
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_meta_counts_namespaces_and_is_written_after_the_data(tmp_path):
    path = tmp_path / "ns.vmig.jsonl"
    with VmigWriter(path, metric="dot") as writer:
        for i in range(5):
            writer.write(Record(id=str(i), vector=np.ones(3, np.float32), namespace=("faq" if i % 2 else None),
                                model="m"))
    meta = read_meta(path)
    assert (meta.record_count, meta.dims, meta.model, meta.metric) == (5, 3, "m", "dot")
    assert meta.namespaces == {"": 3, "faq": 2}
    assert (tmp_path / "ns.vmig.meta.json").stat().st_mtime_ns >= path.stat().st_mtime_ns
