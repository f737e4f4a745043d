"""Asset checks of a migration, named as what they assert.

On every file-producing asset (export, reembed, adapt): ``<stage>_passes_vmig_lint``
and ``<stage>_checksum_matches``, both blocking, so a corrupt or malformed file stops
the run before anything reads it. On the import: ``target_count_matches_file``,
``vectors_match_file_on_sample`` and ``search_results_match_source``. All are
partitioned like their asset, so each namespace shows its own result.
"""

import warnings

import dagster as dg

from vex_dagster.assets.load import target_key
from vex_dagster.checks.measures import (
    checksum_outcome, count_outcome, fidelity_outcome, lint_outcome, search_outcome,
)
from vex_dagster.migrations import MigrationSpec
from vex_dagster.vmig import read_meta

# Partitioned asset checks are a Dagster preview; they are what makes results per namespace.
warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")


def _result(outcome) -> dg.AssetCheckResult:
    passed, metadata = outcome
    return dg.AssetCheckResult(passed=passed, metadata=metadata)


def file_checks(migration: MigrationSpec, stage: str, partitions) -> list[dg.AssetChecksDefinition]:
    asset = dg.AssetKey([migration.name, stage])

    @dg.asset_check(asset=asset, name=f"{stage}_passes_vmig_lint", blocking=True,
                    partitions_def=partitions)
    def lint(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Every line and the meta sidecar pass `vex validate` (no errors)."""
        return _result(lint_outcome(migration.stage_path(stage, context.partition_key)))

    @dg.asset_check(asset=asset, name=f"{stage}_checksum_matches", blocking=True,
                    partitions_def=partitions)
    def checksum(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """The file's SHA-256 and line count equal its meta file's, and it is not truncated."""
        return _result(checksum_outcome(migration.stage_path(stage, context.partition_key)))

    return [lint, checksum]


def _target_metric(store, collection: str, migration: MigrationSpec, path) -> str:
    return (store.describe(collection).metric or migration.options.metric
            or read_meta(path).metric or "cosine")


def target_checks(migration: MigrationSpec, partitions) -> list[dg.AssetChecksDefinition]:
    asset = dg.AssetKey([migration.name, "import"])
    resource_key = target_key(migration)

    def check(name: str, measure):
        @dg.asset_check(asset=asset, name=name, partitions_def=partitions,
                        required_resource_keys={resource_key}, description=measure.__doc__)
        def run(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
            key = context.partition_key
            path, collection = migration.import_path(key), migration.target_collection(key)
            with getattr(context.resources, resource_key).get_client() as store:
                return _result(measure(store, collection, path))

        return run

    def counts(store, collection, path):
        """The target holds as many records per namespace as the imported file."""
        return count_outcome(store, collection, path)

    def fidelity(store, collection, path):
        """A sample of records comes back with equal ids and text and vectors at cosine >= 0.9999."""
        return fidelity_outcome(store, collection, path, migration.options.sample_size)

    def search(store, collection, path):
        """For 20 sample vectors the target's top-10 ids match the exact top-10 over the file (recall@10)."""
        metric = _target_metric(store, collection, migration, path)
        return search_outcome(store, collection, path, metric, migration.options.min_recall)

    return [check("target_count_matches_file", counts),
            check("vectors_match_file_on_sample", fidelity),
            check("search_results_match_source", search)]
