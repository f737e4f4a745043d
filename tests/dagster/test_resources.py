"""Store resources: the registry, get_client() closing, paths under VEX_DATA_DIR, secrets."""

import dagster as dg
import pytest

from vex_dagster.resources import VectorStoreResource, resource_class, resource_classes
from vex_dagster.resources.jsonl import JsonlResource
from vex_dagster.resources.vektor import VektorResource
from vex_dagster.stores import CONNECTORS, store_class
from vex_dagster.stores.vektor import VektorStore


def test_every_resource_names_a_connector_and_the_embedded_stores_have_one():
    classes = resource_classes()
    assert {"vektor", "jsonl"} <= set(classes)
    for store, cls in classes.items():
        assert store in CONNECTORS and issubclass(cls, VectorStoreResource)
        settings = {s.name for s in store_class(store).settings}
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name} needs a Field(description=...)"
            assert name in settings, f"{cls.__name__}.{name} is no setting of the {store} connector"


def test_unknown_store_lists_the_known_ones():
    with pytest.raises(KeyError, match="stores with one: .*vektor"):
        resource_class("nope")


def test_get_client_opens_under_the_data_dir_and_always_closes(data_dir, monkeypatch):
    closed = []
    monkeypatch.setattr(VektorStore, "close", lambda self: closed.append(self.path))
    resource = VektorResource(path="demo/store.db")
    with pytest.raises(RuntimeError, match="boom"):
        with resource.get_client() as store:
            assert store.path == data_dir / "demo" / "store.db"
            raise RuntimeError("boom")
    assert closed == [data_dir / "demo" / "store.db"]


def test_absolute_paths_are_kept_and_jsonl_dirs_resolve_too(data_dir, tmp_path):
    assert VektorResource(path=str(tmp_path / "x.db")).store_settings() == {"path": str(tmp_path / "x.db")}
    assert JsonlResource(dir="out").store_settings() == {"dir": str(data_dir / "out")}


def test_a_setting_from_an_env_var_is_resolved_at_run_time_and_not_shown(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("VEX_TEST_VEKTOR_PATH", str(tmp_path / "from-env.db"))

    @dg.asset(required_resource_keys={"store"})
    def opened(context):
        with context.resources.store.get_client() as store:
            return str(store.path)

    resource = VektorResource(path=dg.EnvVar("VEX_TEST_VEKTOR_PATH"))
    result = dg.materialize([opened], resources={"store": resource})
    assert result.output_for_node("opened") == str(tmp_path / "from-env.db")
    assert str(tmp_path) not in repr(resource)
