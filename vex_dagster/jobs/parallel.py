"""The scale-out job: every namespace of one migration in one run, as parallel steps.

``<name>`` migrates one namespace per run, with its checks. ``<name>_parallel`` takes
them all in one run: the ``namespaces`` step lists the source's namespaces (adding
new partitions, as the discovery sensor does), then each namespace goes through
export -> [reembed | adapt] -> import as steps of its own, which the multiprocess
executor runs side by side, ``max_concurrent`` at a time (default 2, this machine's
cores; set it in the launchpad, or choose ``in_process`` for one process). Each step holds its store's pool (``vex-<store>``,
the same as the assets'), so a pool limit bounds the steps touching one store
across all runs. The steps record materialisations of the migration's partitioned
assets, so the catalog shows every namespace as migrated; the checks stay with the
per-namespace job (or "Execute checks" in the UI), which has the whole chain.

The same definitions run the steps across machines with ``VEX_DAGSTER_EXECUTOR=k8s``
(dagster-k8s's ``k8s_job_executor``: a pod per step) or ``=celery`` (dagster-celery's
``celery_executor``: steps on Celery workers) in place of the multiprocess executor;
set it wherever the code location is loaded (see the README, "Scale-out").
"""

import importlib
import os
import re

import dagster as dg

from vex_dagster.assets.export import export_partition, source_key
from vex_dagster.assets.files import stage_pool
from vex_dagster.assets.load import import_partition, target_key
from vex_dagster.assets.transform import transform_partition
from vex_dagster.jobs.sensors import source_partition_keys
from vex_dagster.migrations import MigrationSpec

DEFAULT_MAX_CONCURRENT = 2
#: VEX_DAGSTER_EXECUTOR value -> (module, executor, the pip extra that installs it)
REMOTE_EXECUTORS = {"k8s": ("dagster_k8s", "k8s_job_executor", "k8s"),
                    "celery": ("dagster_celery", "celery_executor", "celery")}


def parallel_executor() -> tuple[dg.ExecutorDefinition, dict | None]:
    """The executor named by ``VEX_DAGSTER_EXECUTOR`` and the job's default run config."""
    choice = os.environ.get("VEX_DAGSTER_EXECUTOR") or "multiprocess"
    if choice == "multiprocess":
        return dg.multi_or_in_process_executor, {
            "execution": {"config": {"multiprocess": {"max_concurrent": DEFAULT_MAX_CONCURRENT}}}}
    if choice not in REMOTE_EXECUTORS:
        raise ValueError(f"VEX_DAGSTER_EXECUTOR={choice!r}: choose multiprocess, {' or '.join(REMOTE_EXECUTORS)}")
    module, name, extra = REMOTE_EXECUTORS[choice]
    try:
        return getattr(importlib.import_module(module), name), None
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"VEX_DAGSTER_EXECUTOR={choice} needs {module}: pip install 'vex-dagster[{extra}]'") from exc


def _mapping_key(index: int, key: str) -> str:
    """Dagster's mapping keys allow only letters, digits and _; the index keeps them unique."""
    return f"{index}_{re.sub(r'[^A-Za-z0-9_]', '_', key)[:60]}"


def _stage_op(migration: MigrationSpec, stage: str, work, resource_keys: set[str]) -> dg.OpDefinition:
    @dg.op(name=f"{stage}_namespace", pool=stage_pool(migration, stage), required_resource_keys=resource_keys,
           description=f"One namespace's {stage} (the {migration.name}/{stage} asset's work).")
    def run_stage(context: dg.OpExecutionContext, key: str) -> str:
        result = work(migration, context.resources, key, context.log)
        context.log_event(dg.AssetMaterialization(asset_key=[migration.name, stage], partition=key,
                                                  metadata=result.metadata))
        return key

    return run_stage


def parallel_job(migration: MigrationSpec, partitions: dg.DynamicPartitionsDefinition) -> dg.JobDefinition:
    source, target = source_key(migration), target_key(migration)
    stages = [_stage_op(migration, "export", export_partition, {source})]
    if migration.transform:
        needs_target = migration.transform == "reembed" and not migration.reembed.always
        stages.append(_stage_op(migration, migration.transform, transform_partition, {target} if needs_target else set()))
    stages.append(_stage_op(migration, "import", import_partition, {target}))

    @dg.op(out=dg.DynamicOut(str), required_resource_keys={source},
           description="The source's namespaces, one output each; new ones become partitions.")
    def namespaces(context: dg.OpExecutionContext):
        keys = source_partition_keys(migration, context.resources, context.log)
        known = set(context.instance.get_dynamic_partitions(partitions.name))
        new = [key for key in keys if key not in known]
        if new:
            context.instance.add_dynamic_partitions(partitions.name, new)
        for index, key in enumerate(keys):
            yield dg.DynamicOutput(key, mapping_key=_mapping_key(index, key))

    @dg.op(description="Waits for every namespace and lists them.")
    def migrated(context: dg.OpExecutionContext, keys: list[str]) -> list[str]:
        context.log.info(f"migrated {len(keys)} namespaces: {', '.join(keys)}")
        return keys

    def chain(key):
        for stage in stages:
            key = stage(key)
        return key

    executor, config = parallel_executor()

    @dg.job(name=f"{migration.name}_parallel", executor_def=executor, config=config,
            description=f"Every namespace of {migration.source.store}:{migration.source.collection} in one "
                        f"run, as parallel steps (executor {executor.name}, pools vex-<store>); no checks.")
    def parallel():
        migrated(namespaces().map(chain).collect())

    return parallel
