"""Every ordered pair of stores, there and back, on awkward records (issues 4 and 5);
and what every store must refuse.

A -> B is checked after the first hop, A -> B -> A after the return. Stores join
by adding a backend module in tests/backends/.
"""

from __future__ import annotations

import itertools
import uuid

import pytest

from tests.conftest import BACKENDS, SERVER_BACKENDS
from tests.records import assert_same_records, awkward_records
import numpy as np

from vex_dagster.pipeline import import_file, migrate
from vex_dagster.stores.base import DimensionMismatch
from vex_dagster.vmig import Record, VmigWriter



def _marks(pair):
    return [pytest.mark.server] if set(pair) & SERVER_BACKENDS else []


STORES = [pytest.param(name, marks=_marks((name,)), id=name) for name in BACKENDS]
PAIRS = [pytest.param(pair, marks=_marks(pair), id=f"{pair[0]}->{pair[1]}")
         for pair in itertools.permutations(BACKENDS, 2)]


def _collection(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _read_all(store, collection):
    return [r for batch in store.iter_batches(collection, batch_size=3) for r in batch]


@pytest.mark.parametrize("dims", [3, 1536])
@pytest.mark.parametrize("pair", PAIRS)
def test_there_and_back(request, pair, dims, tmp_path):
    a = request.getfixturevalue(f"{pair[0]}_backend")
    b = request.getfixturevalue(f"{pair[1]}_backend")
    records = awkward_records(dims)
    exact = a.exact_vectors and b.exact_vectors
    losses = set(a.losses) | set(b.losses)
    home, away, back = _collection("home"), _collection("away"), _collection("back")
    with a.open() as store:
        store.write_batches(home, [records[:4], records[4:]], dims=dims, metric="cosine")
    with a.open() as src, b.open() as dst:
        migrate(src, dst, home, target_collection=away, workdir=tmp_path / "there", batch_size=3)
    with b.open() as dst:
        assert_same_records(records, _read_all(dst, away), exact_vectors=exact, losses=losses)
    with b.open() as src, a.open() as dst:
        migrate(src, dst, away, target_collection=back, workdir=tmp_path / "back", batch_size=4)
    with a.open() as store:
        assert_same_records(records, _read_all(store, back), exact_vectors=exact, losses=losses)


@pytest.mark.parametrize("name", STORES)
def test_a_dims_mismatch_is_refused_before_writing(request, name, tmp_path):
    backend = request.getfixturevalue(f"{name}_backend")
    if not backend.import_adds_to_collection:
        pytest.skip(f"a {name} import writes its collection anew")
    collection = _collection("dims")
    path = tmp_path / "four.vmig.jsonl"
    with VmigWriter(path) as writer:
        writer.write_all(Record(id=f"r{i}", vector=np.ones(4, np.float32), text="t") for i in range(2))
    with backend.open() as store:
        store.write_batches(collection, [[Record(id="r8", vector=np.ones(8, np.float32), text="t")]], dims=8)
        with pytest.raises(DimensionMismatch, match=r"8-d vectors but the records are 4-d; re-embed .*--reembed"):
            import_file(store, collection, path)
        assert store.describe(collection).count == 1
