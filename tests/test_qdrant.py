"""Qdrant specifics: id mapping, sparse and named vectors, metric, paging, dims refusal.

Local mode always; against a real server too when VEX_TEST_QDRANT_URL is set.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from tests.records import awkward_records, by_key
from vex_dagster.pipeline import export_collection, import_file
from vex_dagster.stores.ids import derived_uuid
from vex_dagster.stores.qdrant import QdrantStore
from vex_dagster.vmig import Record, VmigWriter

SERVER = os.environ.get("VEX_TEST_QDRANT_URL")
MODES = ["local", pytest.param("server", marks=[pytest.mark.live, pytest.mark.skipif(
    not SERVER, reason="set VEX_TEST_QDRANT_URL to run against a real Qdrant server")])]


@pytest.fixture(params=MODES)
def open_qdrant(request, tmp_path):
    if request.param == "server":
        return lambda **kw: QdrantStore(url=SERVER, api_key=os.environ.get("VEX_TEST_QDRANT_API_KEY"), **kw)
    return lambda **kw: QdrantStore(path=str(tmp_path / "q"), **kw)


def _name():
    return f"t_{uuid.uuid4().hex[:8]}"


def test_ids_are_kept_or_mapped_and_restored(open_qdrant):
    records = awkward_records(4)
    name = _name()
    with open_qdrant() as store:
        store.write_batches(name, [records], dims=4, metric="dot")
        raw = {p.id for p in store._client.scroll(name, limit=100)[0]}
        back = [r for b in store.iter_batches(name) for r in b]
    assert 42 in raw and 18446744073709551615 in raw  # uint ids stay integers
    assert "a6c8d0a8-3f4e-4b0e-9a1f-2f7b5e8c9d10" in raw  # canonical UUIDs stay
    assert derived_uuid("doc#1/é") in raw  # others become UUIDv5
    assert sorted(by_key(back)) == sorted(by_key(records))
    for key, record in by_key(records).items():  # dot collections keep vectors as given
        assert np.array_equal(by_key(back)[key].vector, record.vector)


def test_cosine_collections_normalise_vectors(open_qdrant):
    name = _name()
    with open_qdrant() as store:
        store.write_batches(name, [[Record(id="a", vector=np.array([3, 4], np.float32))]], dims=2)
        (back,) = store.fetch(name, ["a"])
        assert store.describe(name).metric == "cosine"
    np.testing.assert_allclose(back.vector, [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_metric_is_carried_both_ways(open_qdrant, tmp_path, metric):
    src = tmp_path / "in.vmig.jsonl"
    with VmigWriter(src, metric=metric) as w:
        w.write(Record(id="1", vector=np.ones(3, np.float32)))
    name = _name()
    with open_qdrant() as store:
        import_file(store, name, src)
        assert store.describe(name).metric == metric
        result = export_collection(store, name, tmp_path / "out.vmig.jsonl")
    assert result.meta.metric == metric


def test_sparse_and_named_vectors_round_trip(open_qdrant):
    record = Record(id="s1", vector=np.array([0.5, 0.25], np.float32), text="hybrid",
                    sparse_vector={"indices": [3, 17], "values": [0.5, 1.25]})
    name = _name()
    with open_qdrant(vector_name="dense") as store:
        store.write_batches(name, [[record]], dims=2, metric="dot")
        (back,) = store.fetch(name, ["s1"])
        assert list(store._client.get_collection(name).config.params.vectors) == ["dense"]
    assert back.sparse_vector == record.sparse_vector
    assert np.array_equal(back.vector, record.vector)


def test_export_pages_through_several_scroll_pages(open_qdrant):
    records = [Record(id=str(i), vector=np.full(2, i, np.float32), namespace=f"n{i % 3}") for i in range(25)]
    name = _name()
    with open_qdrant() as store:
        store.write_batches(name, [records[:10], records[10:]], dims=2, metric="euclidean")
        batches = list(store.iter_batches(name, batch_size=4))
        info = store.describe(name)
        only_n1 = [r.id for b in store.iter_batches(name, namespace="n1", batch_size=4) for r in b]
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 4, 1]
    assert sorted(r.id for b in batches for r in b) == sorted(r.id for r in records)
    assert info.namespaces == {"n0": 9, "n1": 8, "n2": 8} and info.count == 25
    assert sorted(only_n1, key=int) == [str(i) for i in range(1, 25, 3)]


def test_search_finds_the_nearest_and_restores_ids(open_qdrant):
    name = _name()
    records = [Record(id=f"doc-{i}", vector=np.eye(4, dtype=np.float32)[i]) for i in range(4)]
    with open_qdrant() as store:
        store.write_batches(name, [records], dims=4)
        hits = store.search(name, np.array([0, 0, 1, 0.1], np.float32), k=2)
    assert [h.id for h in hits] == ["doc-2", "doc-3"]
