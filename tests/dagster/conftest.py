"""Fixtures for the Dagster layer: a data dir under tmp, migrations files, an ephemeral
instance (never DAGSTER_HOME), and helpers to tick sensors and run partitions."""

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from vex_dagster.definitions import build_definitions
from vex_dagster.migrations import DEFAULT_PATH
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import Record

SAMPLE = Path(__file__).resolve().parents[2] / "vex_dagster" / "data" / "pydocs.vmig.jsonl"


def pytest_collection_modifyitems(items):
    """Dagster tests build definitions and materialise runs, seconds each: all are `slow`,
    so `-m "not slow and not server"` stays a quick check of the core."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("VEX_DATA_DIR", str(path))
    monkeypatch.delenv("VEX_INBOX_DIR", raising=False)
    monkeypatch.delenv("VEX_MIGRATIONS", raising=False)
    return path


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def write_migrations(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "migrations.yaml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def demo_defs(data_dir) -> dg.Definitions:
    """The shipped migrations.yaml, with its data under a temporary VEX_DATA_DIR."""
    return build_definitions(DEFAULT_PATH)


def seed_384d_target(path: Path) -> None:
    """A vektor target already holding 384-d vectors, like the demo's exports: a reembed
    stage then keeps them and never calls its (unreachable) embedding server."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with VektorStore(str(path)) as target:
        target.write_batches("pydocs", [[Record(id="existing", vector=np.ones(384, np.float32))]], dims=384)


def discover(defs: dg.Definitions, instance, migration: str) -> list[str]:
    """Tick the discovery sensor once and apply its partition requests, as the daemon does."""
    sensor = defs.resolve_sensor_def(f"{migration}_discover_namespaces")
    result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=defs.resources))
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return instance.get_dynamic_partitions(f"{migration}_namespaces")


def run_partition(defs: dg.Definitions, instance, migration: str, key: str):
    return defs.resolve_job_def(migration).execute_in_process(
        partition_key=key, instance=instance, raise_on_error=False)


def run_checks(defs: dg.Definitions, instance, asset_key: list[str], key: str):
    """Run only the checks of one asset (no materialisation), for one partition."""
    job = dg.define_asset_job(
        "recheck", dg.AssetSelection.checks_for_assets(dg.AssetKey(asset_key)),
        partitions_def=dg.DynamicPartitionsDefinition(name=f"{asset_key[0]}_namespaces"))
    with_job = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    # A check-only selection has no asset to carry the partition, so it goes in as the run's tag.
    return with_job.resolve_job_def("recheck").execute_in_process(
        tags={"dagster/partition": key}, instance=instance, raise_on_error=False)


def check_results(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def check_metadata(result, name: str) -> dict:
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.check_name == name:
            return {k: v.value for k, v in evaluation.metadata.items()}
    raise KeyError(name)


def materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
