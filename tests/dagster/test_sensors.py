"""Sensors evaluated as the daemon would, with build_sensor_context and a cursor."""

import datetime
import shutil

import dagster as dg
import numpy as np

from tests.dagster.conftest import SAMPLE, discover
from vex_dagster.definitions import build_definitions
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import Record, file_checksum, read_meta, write_meta
from vex_dagster.vmig.files import meta_path


def test_discovery_adds_one_partition_per_namespace_once(demo_defs, instance):
    sensor = demo_defs.resolve_sensor_def("pydocs_demo_discover_namespaces")
    context = dg.build_sensor_context(instance=instance, resources=demo_defs.resources)
    first = sensor.evaluate_tick(context)
    [request] = first.dynamic_partitions_requests
    assert sorted(request.partition_keys) == ["datamodel", "reference", "statements"]
    instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=demo_defs.resources,
                                                         cursor=first.cursor))
    assert not again.dynamic_partitions_requests and "no new namespaces" in again.skip_message


def test_discovery_finds_a_namespace_added_to_the_source_later(demo_defs, instance, data_dir):
    assert len(discover(demo_defs, instance, "pydocs_demo")) == 3
    with VektorStore(str(data_dir / "pydocs_demo" / "source.db")) as source:
        source.write_batch("pydocs", [Record("new-1", np.ones(384, "float32"),
                                             namespace="faq")])
    assert discover(demo_defs, instance, "pydocs_demo") == ["datamodel", "reference", "statements", "faq"]


def _drop(inbox, name="drop"):
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, inbox / f"{name}.vmig.jsonl")
    shutil.copy(meta_path(SAMPLE), meta_path(inbox / f"{name}.vmig.jsonl"))
    return inbox / f"{name}.vmig.jsonl"


def _tick(defs, instance, cursor=None):
    sensor = defs.resolve_sensor_def("vex_inbox")
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_inbox_imports_each_complete_file_once(demo_defs, instance, data_dir):
    inbox = data_dir / "inbox"
    (inbox / "half.vmig.jsonl").parent.mkdir(parents=True)
    (inbox / "half.vmig.jsonl").write_bytes(SAMPLE.read_bytes()[:5000])  # no meta yet: incomplete
    path = _drop(inbox)
    first = _tick(demo_defs, instance)
    [request] = first.run_requests
    config = request.run_config["ops"]["import_inbox_file"]["config"]
    assert config == {"path": str(path), "store": "vektor", "collection": "drop"}
    result = demo_defs.resolve_job_def("vex_inbox_import").execute_in_process(
        run_config=request.run_config, instance=instance)
    assert result.success
    with VektorStore(str(data_dir / "inbox" / "inbox.db")) as target:
        assert target.describe("drop").count == 600
    second = _tick(demo_defs, instance, cursor=first.cursor)
    assert not second.run_requests


def test_inbox_follows_the_target_its_meta_names_and_reimports_a_changed_file(demo_defs, instance, data_dir):
    path = _drop(data_dir / "inbox")
    first = _tick(demo_defs, instance)
    meta = read_meta(path)
    meta.extra["target"] = {"store": "jsonl", "collection": "from-meta"}
    write_meta(path, meta)  # same data, new meta: the checksum is unchanged, so not imported again
    assert not _tick(demo_defs, instance, cursor=first.cursor).run_requests
    with path.open("ab") as fh:  # a new version of the file arrives
        fh.write(b'{"id":"extra","vector":[0.5],"vex_version":"1.0.0"}\n')
    meta.record_count += 1
    meta.checksum = file_checksum(path).checksum
    write_meta(path, meta)
    [request] = _tick(demo_defs, instance, cursor=first.cursor).run_requests
    config = request.run_config["ops"]["import_inbox_file"]["config"]
    assert (config["store"], config["collection"]) == ("jsonl", "from-meta")


def test_inbox_waits_for_a_file_that_does_not_match_its_meta(demo_defs, instance, data_dir):
    path = _drop(data_dir / "inbox")
    path.write_bytes(path.read_bytes()[:-100])  # still being copied
    result = _tick(demo_defs, instance)
    assert not result.run_requests
    shutil.copy(SAMPLE, path)
    assert len(_tick(demo_defs, instance, cursor=result.cursor).run_requests) == 1


def test_discovery_leaves_out_namespaces_dagster_cannot_key(demo_defs, instance, data_dir):
    discover(demo_defs, instance, "pydocs_demo")
    with VektorStore(str(data_dir / "pydocs_demo" / "source.db")) as source:
        source.write_batch("pydocs", [Record("odd", np.ones(384, "float32"), namespace="a...b"),
                                      Record("tab", np.ones(384, "float32"), namespace="x\ty")])
    assert "a...b" not in discover(demo_defs, instance, "pydocs_demo")


def test_the_schedule_requests_one_run_per_known_namespace(write_migrations, data_dir, instance):
    defs = build_definitions(write_migrations(f"""
migrations:
  - name: nightly
    source: {{store: vektor, collection: pydocs, settings: {{path: src.db}}, seed: {SAMPLE}}}
    target: {{store: vektor, collection: pydocs, settings: {{path: dst.db}}}}
    cron: "0 3 * * *"
"""))
    schedule = defs.resolve_schedule_def("nightly_schedule")
    at = datetime.datetime(2026, 11, 25, 3, tzinfo=datetime.timezone.utc)
    empty = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=at,
                                                                 repository_def=defs.get_repository_def()))
    assert not empty.run_requests and "no namespaces" in empty.skip_message
    discover(defs, instance, "nightly")
    result = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=at,
                                                                 repository_def=defs.get_repository_def()))
    assert sorted(r.partition_key for r in result.run_requests) == ["datamodel", "reference", "statements"]
