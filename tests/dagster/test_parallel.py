"""The scale-out job: every namespace of a migration in one run on the multiprocess
executor (2 processes), with and without a pool limit, with an adapt or reembed step."""

import importlib
from pathlib import Path

import dagster as dg
import pytest

from tests.dagster.conftest import SAMPLE, seed_384d_target
from vex_dagster.definitions import build_definitions
from vex_dagster.migrations import DEFAULT_PATH
from vex_dagster.stores.vektor import VektorStore

NAMESPACES = {"datamodel": 127, "reference": 389, "statements": 84}
STEPS = ("export_namespace", "import_namespace")


def demo_parallel_job() -> dg.JobDefinition:
    """Module level, so the executor's child processes can rebuild the job (reconstructable)."""
    return build_definitions(DEFAULT_PATH).resolve_job_def("pydocs_demo_parallel")


def transformed_parallel_job(migrations: str) -> dg.JobDefinition:
    """From a migrations file given as an argument. Named by VEX_MIGRATIONS instead, the
    executor's processes of the second such test built the first test's job ("unknown
    step: adapt_namespace[...]"), so the path travels with the job."""
    return build_definitions(migrations).resolve_job_def("transformed_parallel")


def _run(instance, max_concurrent=2, job=None) -> str:
    with dg.execute_job(job or dg.reconstructable(demo_parallel_job), instance,
                        run_config={"execution": {"config": {"multiprocess": {"max_concurrent": max_concurrent}}}}) as result:
        assert result.success, "\n".join(getattr(e.event_specific_data, "error", None).to_string()
                                          if getattr(e.event_specific_data, "error", None) else e.message
                                          for e in result.all_events if e.is_failure)
        return result.dagster_run.run_id


def _step_spans(instance, run_id, steps=STEPS) -> list[tuple[int, int, str]]:
    """(start, end) of each stage step as positions in the run's event log: ordering, not timing."""
    starts, ends = {}, {}
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry.dagster_event
        if event is None or not event.step_key or not event.step_key.startswith(steps):
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = record.storage_id
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            ends[event.step_key] = record.storage_id
    return sorted((starts[key], ends[key], key) for key in starts)


def test_the_parallel_job_materialises_every_namespace(data_dir, instance):
    run_id = _run(instance)
    assert sorted(instance.get_dynamic_partitions("pydocs_demo_namespaces")) == sorted(NAMESPACES)
    for stage in ("export", "import"):
        assert instance.get_materialized_partitions(dg.AssetKey(["pydocs_demo", stage])) == set(NAMESPACES)
    spans = _step_spans(instance, run_id)
    assert len(spans) == 2 * len(NAMESPACES)
    with VektorStore(str(data_dir / "pydocs_demo" / "target.db")) as target:
        info = target.describe("pydocs")
    assert (info.count, info.namespaces) == (600, NAMESPACES)


#: the stage between export and import: its migrations-file line, the dims it leaves
TRANSFORMS = {
    "adapt": ("adapter: {from: intfloat/multilingual-e5-small, to: glove-6b-50d}", 50),
    # the target already holds 384-d vectors, so the (unreachable) server is never called
    "reembed": ('reembed: {model: e5-passage, base_url: "http://127.0.0.1:9/v1"}', 384),
}


@pytest.mark.parametrize("stage", sorted(TRANSFORMS))
def test_the_parallel_job_runs_the_transform_step_per_namespace(stage, data_dir, instance, write_migrations):
    stanza, dims = TRANSFORMS[stage]
    if stage == "reembed":
        seed_384d_target(data_dir / "target.db")
    migrations = str(write_migrations(f"""
migrations:
  - name: transformed
    source: {{store: vektor, collection: pydocs, settings: {{path: src.db}}, seed: {SAMPLE}}}
    {stanza}
    target: {{store: vektor, collection: pydocs, settings: {{path: target.db}}}}
"""))
    job = dg.build_reconstructable_job(__name__, "transformed_parallel_job", (migrations,),
                                       reconstructor_working_directory=str(Path(__file__).parents[2]))
    run_id = _run(instance, job=job)
    steps = [key for *_, key in _step_spans(instance, run_id, (*STEPS, f"{stage}_namespace"))]
    assert len(steps) == 3 * len(NAMESPACES) and sum(key.startswith(stage) for key in steps) == len(NAMESPACES)
    assert instance.get_materialized_partitions(dg.AssetKey(["transformed", stage])) == set(NAMESPACES)
    with VektorStore(str(data_dir / "target.db")) as target:
        info = target.describe("pydocs")
    assert info.dims == dims and {k: info.namespaces[k] for k in NAMESPACES} == NAMESPACES


def test_a_pool_limit_of_one_runs_the_store_steps_one_at_a_time(data_dir, instance):
    if not instance.event_log_storage.supports_global_concurrency_limits:
        pytest.skip("this instance's storage has no pools")
    instance.event_log_storage.set_concurrency_slots("vex-vektor", 1)  # both sides are vektor in the demo
    run_id = _run(instance)
    blocked = [record.event_log_entry.dagster_event.step_key for record in instance.get_records_for_run(run_id).records
               if "blocked by limit for pool vex-vektor" in (record.event_log_entry.message or "")]
    assert blocked, "two steps were ready at once, so one must have waited for the pool"
    spans = _step_spans(instance, run_id)
    assert len(spans) == 2 * len(NAMESPACES)
    for (_, previous_end, previous), (start, _, step) in zip(spans, spans[1:]):
        assert start > previous_end, f"{step} started before {previous} finished"
    with VektorStore(str(data_dir / "pydocs_demo" / "target.db")) as target:
        assert target.describe("pydocs").count == 600


@pytest.mark.parametrize("choice", ["k8s", "celery"])
def test_the_same_definitions_take_the_k8s_or_celery_executor(data_dir, monkeypatch, choice):
    monkeypatch.setenv("VEX_DAGSTER_EXECUTOR", choice)
    defs = build_definitions(DEFAULT_PATH)
    dg.Definitions.validate_loadable(defs)
    module, name = {"k8s": ("dagster_k8s", "k8s_job_executor"), "celery": ("dagster_celery", "celery_executor")}[choice]
    assert defs.resolve_job_def("pydocs_demo_parallel").executor_def is getattr(importlib.import_module(module), name)
    assert defs.resolve_job_def("pydocs_demo").executor_def is dg.in_process_executor  # the per-namespace job stays


def test_an_unknown_executor_is_named(data_dir, monkeypatch):
    monkeypatch.setenv("VEX_DAGSTER_EXECUTOR", "ray")
    with pytest.raises(ValueError, match="VEX_DAGSTER_EXECUTOR='ray': choose multiprocess, k8s or celery"):
        build_definitions(DEFAULT_PATH)
