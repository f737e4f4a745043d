"""Pinecone: the connector against the emulator, and the emulator against the SDK.

No Pinecone server can run here; the emulator answers the requests the official
SDK sends. The `live` tests run the same round trip against the real service when
VEX_TEST_PINECONE_API_KEY is set.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest
from click.testing import CliRunner
from pinecone import Pinecone, ServerlessSpec
from pinecone.errors.exceptions import ApiError

from tests.records import assert_same_records, awkward_records
from vex_dagster.cli import main
from vex_dagster.stores import StoreError
from vex_dagster.stores.pinecone import MAX_METADATA_BYTES, PineconeStore
from vex_dagster.testing.pinecone_emulator import MAX_REQUEST_BYTES, PineconeEmulator
from vex_dagster.vmig import Record


@pytest.fixture
def emulator():
    with PineconeEmulator() as emu:
        yield emu


def _store(emulator, **kw):
    return PineconeStore(api_key="k", controller_host=emulator.url, **kw)


def _records(count, dims=8, namespace=None, text="t"):
    rng = np.random.default_rng(2)
    return [Record(id=f"r{i:05d}", vector=rng.standard_normal(dims).astype(np.float32), text=text,
                   namespace=namespace, metadata={"i": i}) for i in range(count)]


@pytest.fixture
def sdk_index(emulator):
    pc = Pinecone(api_key="k", host=emulator.url)
    pc.create_index(name="raw", dimension=3, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
    return pc.Index(host=pc.describe_index("raw").host)


@pytest.mark.parametrize("metadata,words", [
    ({"a": None}, "got null"), ({"a": {"b": 1}}, "got object"), ({"a": [1, 2]}, "list of strings"),
    ({"a": "x" * (MAX_METADATA_BYTES + 10)}, "exceeds the limit of 40960 bytes"),
])
def test_emulator_rejects_what_pinecone_rejects(sdk_index, metadata, words):
    """Sent through the SDK's unvalidated dict path: the server-side rule must answer."""
    with pytest.raises(ApiError, match=words) as caught:
        sdk_index._upsert_dict_batch(items=[{"id": "a", "values": [1.0, 2.0, 3.0], "metadata": metadata}],
                                     namespace="", timeout=None)
    assert caught.value.status_code == 400


def test_emulator_enforces_batch_and_request_limits(sdk_index):
    too_many = [{"id": str(i), "values": [1.0, 0.0, 0.0]} for i in range(1001)]
    with pytest.raises(ApiError, match="Max vectors per upsert request is 1000"):
        sdk_index._upsert_dict_batch(items=too_many, namespace="", timeout=None)
    too_big = [{"id": str(i), "values": [1.0, 0.0, 0.0], "metadata": {"t": "x" * 30_000}} for i in range(80)]
    with pytest.raises(ApiError, match="exceeds the maximum supported size"):
        sdk_index._upsert_dict_batch(items=too_big, namespace="", timeout=None)
    with pytest.raises(ApiError, match="does not match the dimension of the index 3"):
        sdk_index.upsert(vectors=[{"id": "a", "values": [1.0, 2.0]}])


@pytest.mark.slow
def test_writes_stay_within_1000_vectors_and_2_mb(emulator):
    records = _records(2500, dims=1536, text="y" * 1000)
    with _store(emulator) as store:
        store.write_batches("big", [records], dims=1536)
        assert store.describe("big").count == 2500
    upserts = [size for method, path, size in emulator.requests if path.endswith("/vectors/upsert")]
    assert len(upserts) > 3 and max(upserts) <= MAX_REQUEST_BYTES


def test_oversize_metadata_fails_skips_or_truncates_and_says_which(emulator, tmp_path, caplog):
    records = _records(3)
    records[1].text = "é" * 30_000  # 60 KB
    with _store(emulator) as store:
        with pytest.raises(StoreError, match="record 'r00001' has .* over Pinecone's 40 KB"):
            store.write_batches("fail", [records], dims=8)
    with _store(emulator, oversize="skip") as store:
        store.write_batches("skip", [records], dims=8)
        assert store.describe("skip").count == 2 and store.skipped == ["r00001"]
    with _store(emulator, oversize="truncate") as store:
        store.write_batches("trunc", [records], dims=8)
        (back,) = store.fetch("trunc", ["r00001"])
        assert records[1].text.startswith(back.text) and len(back.text) < len(records[1].text)
    assert "r00001" in caplog.text


@pytest.mark.slow
def test_rate_limits_and_outages_are_retried(emulator):
    with _store(emulator) as store:
        store.write_batches("flaky", [_records(10)], dims=8)
        emulator.fail_next(3, 429)
        emulator.fail_next(2, 503)
        back = [r for b in store.iter_batches("flaky") for r in b]
    assert len(back) == 10


def test_export_pages_through_list_and_every_namespace(emulator):
    records = _records(250, namespace="a") + _records(40, namespace="b")
    with _store(emulator) as store:
        store.write_batches("paged", [records], dims=8, metric="dot")
        info = store.describe("paged")
        batches = list(store.iter_batches("paged", batch_size=64))
        only_b = [r for b in store.iter_batches("paged", namespace="b") for r in b]
    assert info.namespaces == {"a": 250, "b": 40} and info.metric == "dot"
    assert sum(map(len, batches)) == 290 and max(map(len, batches)) == 64
    assert len(only_b) == 40 and {r.namespace for r in only_b} == {"b"}
    lists = [p for m, p, _ in emulator.requests if p.endswith("/vectors/list")]
    assert len(lists) >= 4  # 250 ids need three pages of 100, plus b


def test_sparse_values_non_ascii_ids_and_index_creation(emulator):
    record = Record(id="ключ-1", vector=np.array([0.5, 0.25, 1.0], np.float32),
                    sparse_vector={"indices": [2, 9], "values": [0.5, 1.5]}, text="hybrid")
    with _store(emulator) as store:
        store.write_batches("Hybrid_Docs", [[record]], dims=3, metric="euclidean")
        (back,) = store.fetch("Hybrid_Docs", ["ключ-1"])
        hits = store.search("Hybrid_Docs", record.vector, k=1)
    assert emulator.indexes["hybrid-docs"].metric == "euclidean" and emulator.indexes["hybrid-docs"].dimension == 3
    assert back.id == "ключ-1" and back.sparse_vector == record.sparse_vector
    assert np.array_equal(back.vector, record.vector) and hits[0].id == "ключ-1"


def test_cli_without_an_api_key_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("VEX_PINECONE_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["describe", "--from", "pinecone", "--collection", "x"])
    assert result.exit_code == 1 and "VEX_PINECONE_API_KEY" in result.output


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("VEX_TEST_PINECONE_API_KEY"),
                    reason="set VEX_TEST_PINECONE_API_KEY to run against the real Pinecone service")
def test_round_trip_against_the_real_service():
    name = f"vex-test-{uuid.uuid4().hex[:8]}"
    records = [r for r in awkward_records(8) if len((r.text or "").encode()) < 30_000]
    store = PineconeStore(api_key=os.environ["VEX_TEST_PINECONE_API_KEY"])
    try:
        store.write_batches(name, [records], dims=8)
        import time

        time.sleep(10)  # the service's reads are eventually consistent
        assert_same_records(records, [r for b in store.iter_batches(name) for r in b], exact_vectors=True)
    finally:
        store._client.delete_index(name)
