"""Optional stage between export and import: re-embed the text, or adapt the vectors.

The work is done by the core (``vex_dagster.embed``, ``vex_dagster.adapter``),
imported only when the stage runs, so a migration without it never needs the
``embed`` extra.
"""

import importlib
import os
import shutil
from pathlib import Path

import dagster as dg

from vex_dagster.assets.files import file_result, stage_asset_args
from vex_dagster.assets.load import target_key
from vex_dagster.migrations import MigrationSpec
from vex_dagster.progress import LogProgress
from vex_dagster.vmig.files import meta_path


def _core(module: str, name: str):
    """The core function for a stage, with a clear message if it cannot be imported
    (e.g. the ``embed`` extra, which brings ``openai``, is not installed)."""
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"this migration's stage needs {module}.{name}, which cannot be "
                           f"imported here ({exc}); pip install 'vex-dagster[all]'") from exc


def _pass_through(in_path: Path, out_path: Path) -> None:
    """The stage's file is the export's, unchanged: hard-linked (no copy of a large
    file; vmig files are replaced, never rewritten in place), or copied where a link
    is not possible."""
    for source, target in ((in_path, out_path), (meta_path(in_path), meta_path(out_path))):
        target.unlink(missing_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def _reembed(migration: MigrationSpec, in_path, out_path, resources, key: str, log) -> dict:
    reembed_file = _core("vex_dagster.embed.reembed", "reembed_file")
    from vex_dagster.embed.reembed import decide_reembed, target_dims

    spec = migration.reembed
    existing = None
    if not spec.always:
        with getattr(resources, target_key(migration)).get_client() as target:
            existing = target_dims(target, migration.target_collection(key))
    decision = decide_reembed(in_path, spec.model, existing, always=spec.always)
    log.info(("re-embedding: " if decision.needed else "not re-embedding: ") + decision.reason)
    if not decision.needed:
        _pass_through(in_path, out_path)
        return {"reembedded": False, "decision": decision.reason}
    result = reembed_file(
        in_path, out_path, model=spec.model, base_url=spec.base_url,
        api_key=os.environ.get(spec.api_key_env) if spec.api_key_env else None,
        batch_size=spec.batch_size, progress=LogProgress(log),
    )
    if result.skipped_ids:
        log.warning(f"{len(result.skipped_ids)} records have no text and were skipped, e.g. "
                    f"{', '.join(result.skipped_ids[:5])}")
    return {"reembedded": True, "decision": decision.reason, "skipped_without_text": len(result.skipped_ids)}


def _adapt(migration: MigrationSpec, in_path, out_path, resources, key: str, log) -> dict:
    adapt_file = _core("vex_dagster.adapter.apply", "adapt_file")
    spec = migration.adapter
    adapt_file(in_path, out_path, from_model=spec.from_model, to_model=spec.to_model,
               registry_dir=spec.registry_dir, progress=LogProgress(log))
    return {"from_model": spec.from_model, "to_model": spec.to_model}


def transform_partition(migration: MigrationSpec, resources, key: str, log) -> dg.MaterializeResult:
    """One namespace's export re-embedded or adapted: the stage asset's work, also run by
    the parallel job."""
    stage = migration.transform
    run = _reembed if stage == "reembed" else _adapt
    out_path = migration.stage_path(stage, key)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    extra = run(migration, migration.stage_path("export", key), out_path, resources, key, log)
    return file_result(out_path, **extra)


def transform_asset(migration: MigrationSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    stage = migration.transform
    what = (f"re-embedded with {migration.reembed.model}" if stage == "reembed"
            else f"adapted from {migration.adapter.from_model} to {migration.adapter.to_model}")

    args = stage_asset_args(
        migration, stage, partitions, kind="openai" if stage == "reembed" else "numpy",
        upstream="export", description=f"The exported namespace {what}, as a new .vmig.jsonl file.",
    )
    if stage == "reembed" and not migration.reembed.always:  # the rule looks at the target's dims
        args["required_resource_keys"] = {target_key(migration)}

    @dg.asset(**args)
    def transform(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return transform_partition(migration, context.resources, context.partition_key, context.log)

    return transform
