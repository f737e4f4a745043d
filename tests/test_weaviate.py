"""Weaviate: the connector against the emulator, and the emulator against the official client.

No Weaviate server can run here; the emulator answers the REST and gRPC requests the
``weaviate-client`` v4 sends. The `live` test runs the round trip against a real node
or Weaviate Cloud when VEX_TEST_WEAVIATE_URL is set.
"""

from __future__ import annotations

import logging
import os
import uuid

import dagster as dg
import numpy as np
import pytest
import weaviate
from click.testing import CliRunner
from weaviate.classes.config import Configure, DataType, Property
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter
from weaviate.classes.tenants import Tenant
from weaviate.exceptions import UnexpectedStatusCodeError

from tests.records import assert_same_records, awkward_records
from vex_dagster.cli import main
from vex_dagster.resources.weaviate import WeaviateResource
from vex_dagster.stores import StoreError, StoreUnavailable
from vex_dagster.stores.weaviate import WeaviateStore
from vex_dagster.testing.pinecone_emulator import PineconeEmulator
from vex_dagster.testing.weaviate_emulator import WeaviateEmulator
from vex_dagster.vmig import Record


@pytest.fixture
def emulator():
    with WeaviateEmulator() as node:
        yield node


@pytest.fixture
def client(emulator):
    with weaviate.connect_to_local(host="127.0.0.1", port=emulator.http_port, grpc_port=emulator.grpc_port,
                                   skip_init_checks=True) as connection:
        yield connection


def _store(emulator, **settings):
    return WeaviateStore(url=emulator.url, grpc_port=emulator.grpc_port, **settings)


def _records(count, dims=8, namespace=None, **metadata):
    rng = np.random.default_rng(3)
    return [Record(id=f"r{i:05d}", vector=rng.standard_normal(dims).astype(np.float32), text=f"text {i}",
                   namespace=namespace, metadata={"i": i, **metadata}) for i in range(count)]


def _all(store, collection, namespace=None):
    return [r for batch in store.iter_batches(collection, namespace=namespace) for r in batch]


# -- the emulator refuses what Weaviate refuses --------------------------------------------
def _docs(client, **kw):
    return client.collections.create("Docs", properties=[Property(name="title", data_type=DataType.TEXT),
                                                         Property(name="year", data_type=DataType.INT)],
                                     vector_config=Configure.Vectors.self_provided(), **kw)


@pytest.mark.parametrize("properties,vector,words", [
    ({"title": "t", "colour": "red"}, [1.0, 2.0], "no such prop with name 'colour'"),
    ({"title": 7}, [1.0, 2.0], "invalid text property 'title'"),
    ({"year": 1.5}, [1.0, 2.0], "invalid int property 'year'"),
    ({"title": "t"}, [1.0, 2.0, 3.0], "new node has a vector with length 3. Existing nodes have vectors with length 2"),
])
def test_emulator_refuses_each_object_weaviate_refuses(client, properties, vector, words):
    docs = _docs(client)
    docs.data.insert_many([DataObject(properties={"title": "first"}, vector={"default": [0.5, 0.5]})])
    result = docs.data.insert_many([DataObject(properties={"title": "fine"}, vector={"default": [1.0, 0.0]}),
                                    DataObject(properties=properties, vector={"default": vector})])
    assert list(result.errors) == [1] and words in result.errors[1].message
    assert docs.aggregate.over_all(total_count=True).total_count == 2


def test_emulator_enforces_names_tenancy_and_message_size(client, emulator):
    with pytest.raises(UnexpectedStatusCodeError, match="not a valid class name"):
        client.collections.create("Bad-Name")
    with pytest.raises(UnexpectedStatusCodeError, match="not a valid property name"):
        client.collections.create("Props", properties=[Property(name="two words", data_type=DataType.TEXT)])
    tenanted = _docs(client, multi_tenancy_config=Configure.multi_tenancy(enabled=True))
    with pytest.raises(Exception, match="multi-tenancy enabled, but request was without tenant"):
        tenanted.query.fetch_objects()
    with pytest.raises(UnexpectedStatusCodeError, match="tenant name"):
        tenanted.tenants.create([Tenant(name="has space")])
    huge = [DataObject(properties={"title": "x" * 4096}, vector={"default": [0.0] * 4096}) for _ in range(700)]
    with pytest.raises(Exception, match="RESOURCE_EXHAUSTED|larger than max|too large"):
        tenanted.with_tenant("nobody").data.insert_many(huge)  # ~14 MB, over the 10 MiB gRPC limit


# -- the connector --------------------------------------------------------------------------
def test_names_are_normalised_and_said(emulator, caplog):
    with caplog.at_level(logging.INFO, logger="vex.weaviate"), _store(emulator) as store:
        store.write_batches("my-docs.v2", [_records(3)], dims=8)
        info = store.describe("my-docs.v2")
    assert info.name == "My_docs_v2" and info.count == 3 and info.dims == 8
    assert "Weaviate collection name for 'my-docs.v2' is 'My_docs_v2'" in caplog.text
    assert "My_docs_v2" in emulator.node.collections


def test_metadata_keys_become_typed_filterable_properties(emulator, client):
    records = _records(4, year=2020, tags=["a", "b"], score=0.5, ok=True, Title="caps", yEAR=1)
    records[3].metadata["year"] = "twenty-twenty"  # the property is an int now: travels packed
    with _store(emulator) as store:
        store.write_batches("typed", [records], dims=8)
        back = _all(store, "typed")
    types = {p.name: p.data_type.value for p in client.collections.use("Typed").config.get().properties}
    assert {"year": "int", "tags": "text[]", "score": "number", "ok": "boolean", "i": "int"}.items() <= types.items()
    assert "Title" not in types and "yEAR" not in types  # names Weaviate could change travel packed
    found = client.collections.use("Typed").query.fetch_objects(filters=Filter.by_property("year").equal(2020))
    assert len(found.objects) == 3
    assert_same_records(records, back)


def test_namespaces_as_tenants_of_a_multi_tenant_collection(emulator, client):
    records = _records(5, namespace="tenant-a") + _records(3, namespace=None)
    records[5:] = [Record(id=f"n{i}", vector=r.vector, text=r.text) for i, r in enumerate(records[5:])]
    with _store(emulator, tenants=True) as store:
        store.write_batches("mt", [records], dims=8)
        info = store.describe("mt")
        only_a = _all(store, "mt", namespace="tenant-a")
        everything = _all(store, "mt")
        with pytest.raises(StoreError, match="namespace 'a b' cannot be a Weaviate tenant"):
            store.write_batch("mt", _records(1, namespace="a b"))
    assert sorted(client.collections.use("Mt").tenants.get()) == ["tenant-a", "vex_default"]
    assert info.namespaces == {"": 3, "tenant-a": 5} and {r.namespace for r in only_a} == {"tenant-a"}
    assert_same_records(records, everything)


def test_namespace_property_counts_and_filters(emulator):
    records = _records(30, namespace="a") + [Record(id=f"b{i}", vector=np.ones(8, np.float32), namespace="b")
                                             for i in range(7)]
    with _store(emulator) as store:
        store.write_batches("ns", [records], dims=8, metric="dot")
        info = store.describe("ns")
        batches = list(store.iter_batches("ns", batch_size=8))
        only_b = _all(store, "ns", namespace="b")
        hits = store.search("ns", records[4].vector, k=3, namespace="a")
    assert info.namespaces == {"a": 30, "b": 7} and info.metric == "dot"
    assert sum(map(len, batches)) == 37 and max(map(len, batches)) == 8
    assert {r.id for r in only_b} == {f"b{i}" for i in range(7)}
    assert hits[0].id == "r00004" and all(h.id.startswith("r") for h in hits)


def test_export_of_a_collection_vex_did_not_create(client, emulator):
    """All properties, whatever their type, come out as metadata; the text key is configurable."""
    notes = client.collections.create("Notes", properties=[
        Property(name="body", data_type=DataType.TEXT), Property(name="stars", data_type=DataType.INT),
        Property(name="seen", data_type=DataType.DATE), Property(name="ref", data_type=DataType.UUID),
        Property(name="labels", data_type=DataType.TEXT_ARRAY)],
        vector_config=Configure.Vectors.self_provided(name="body_vec"))
    ref = uuid.uuid4()
    notes.data.insert_many([DataObject(
        properties={"body": "hello", "stars": 4, "seen": "2025-05-01T10:00:00Z", "ref": str(ref), "labels": ["x"]},
        uuid=uuid.UUID(int=1), vector={"body_vec": [0.25, 0.5, 1.0]})])
    with _store(emulator, text_key="body") as store:
        (record,) = _all(store, "Notes")
    assert record.id == str(uuid.UUID(int=1)) and record.text == "hello" and record.source_store == "weaviate"
    assert record.metadata == {"stars": 4, "seen": "2025-05-01T10:00:00+00:00", "ref": str(ref), "labels": ["x"]}
    assert record.vector.tolist() == [0.25, 0.5, 1.0]


def test_every_refused_object_is_reported_by_id(emulator):
    records = _records(4)
    records[2].vector = np.ones(5, np.float32)  # one record of other dims slipped into the file
    with _store(emulator) as store:
        store.open_collection("mixed", dims=8, metric="cosine")
        store.write_batch("mixed", records[:1])
        with pytest.raises(StoreError, match=r"refused 1 of 4 objects: 'r00002': new node has a vector with length 5"):
            store.write_batch("mixed", records)


def test_requests_stay_under_the_grpc_message_limit():
    """1536-d records (~2.5 MB of floats per 400) against a node that takes 1 MiB messages:
    the connector learns the limit from /v1/meta and splits; one object over it is named."""
    records = _records(400, dims=1536)
    with WeaviateEmulator(max_message_bytes=1024 * 1024) as small, _store(small) as store:
        store.write_batches("wide", [records], dims=1536)
        assert store.describe("wide").count == 400
        records[7].text = "x" * (2 * 1024 * 1024)
        with pytest.raises(StoreError, match=r"a batch of 1 objects \('r00007'\) is over the node's gRPC message"):
            store.write_batches("wide", [records], dims=1536)


def test_an_unreachable_node_is_one_clear_error():
    with pytest.raises(StoreUnavailable, match="could not reach Weaviate at http://127.0.0.1:9"):
        WeaviateStore(url="http://127.0.0.1:9", grpc_port=10)


def test_cli_migrates_pinecone_to_weaviate_and_back(tmp_path, emulator, monkeypatch):
    """The issue's check: identical records after Pinecone -> Weaviate -> Pinecone."""
    records = [r for r in awkward_records(16) if len((r.text or "").encode()) < 30_000]
    with PineconeEmulator() as pinecone:
        monkeypatch.setenv("VEX_PINECONE_API_KEY", "test-key")
        monkeypatch.setenv("VEX_PINECONE_CONTROLLER_HOST", pinecone.url)
        monkeypatch.setenv("VEX_WEAVIATE_URL", emulator.url)
        monkeypatch.setenv("VEX_WEAVIATE_GRPC_PORT", str(emulator.grpc_port))
        from vex_dagster.stores.pinecone import PineconeStore

        with PineconeStore(api_key="test-key", controller_host=pinecone.url) as source:
            source.write_batches("docs", [records], dims=16)
        runner = CliRunner()
        there = runner.invoke(main, ["migrate", "--from", "pinecone", "--to", "weaviate", "--collection", "docs",
                                     "--workdir", str(tmp_path / "there")])
        back = runner.invoke(main, ["migrate", "--from", "weaviate", "--to", "pinecone", "--collection", "Docs",
                                    "--to-collection", "docs-back", "--workdir", str(tmp_path / "back")])
        assert there.exit_code == 0, there.output
        assert back.exit_code == 0, back.output
        with PineconeStore(api_key="test-key", controller_host=pinecone.url) as target:
            returned = [r for b in target.iter_batches("docs-back") for r in b]
    assert_same_records(records, returned)


def test_dagster_resource_opens_the_connector(emulator):
    @dg.asset
    def imported(store: WeaviateResource) -> dg.MaterializeResult:
        with store.get_client() as client:
            client.write_batches("from_dagster", [_records(5, namespace="x")], dims=8)
            return dg.MaterializeResult(metadata={"count": client.describe("from_dagster").count})

    result = dg.materialize([imported], resources={"store": WeaviateResource(url=emulator.url,
                                                                              grpc_port=emulator.grpc_port)})
    (materialization,) = result.asset_materializations_for_node("imported")
    assert materialization.metadata["count"].value == 5


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("VEX_TEST_WEAVIATE_URL"),
                    reason="set VEX_TEST_WEAVIATE_URL (and VEX_TEST_WEAVIATE_API_KEY / _GRPC_PORT) "
                           "to run against a real Weaviate")
def test_round_trip_against_a_real_weaviate():
    name = f"VexTest{uuid.uuid4().hex[:8]}"
    records = awkward_records(8)
    store = WeaviateStore(url=os.environ["VEX_TEST_WEAVIATE_URL"], api_key=os.environ.get("VEX_TEST_WEAVIATE_API_KEY"),
                          grpc_port=int(os.environ.get("VEX_TEST_WEAVIATE_GRPC_PORT", "50051")))
    try:
        store.write_batches(name, [records], dims=8)
        assert_same_records(records, _all(store, name))
    finally:
        store._client.collections.delete(name)
        store.close()
