"""The partitioned export asset: one source namespace -> one ``.vmig.jsonl`` + meta."""

import dagster as dg

from vex_dagster.assets.files import file_result, stage_asset_args
from vex_dagster.migrations import MigrationSpec, namespace_of
from vex_dagster.pipeline import export_collection, import_file
from vex_dagster.progress import LogProgress
from vex_dagster.stores.base import CollectionNotFound, Store


def source_key(migration: MigrationSpec) -> str:
    return f"{migration.name}_source"


def ensure_seeded(store: Store, migration: MigrationSpec, log=None) -> None:
    """Load the declared seed file when the source collection does not exist (the demo)."""
    if not migration.source.seed:
        return
    try:
        store.describe(migration.source.collection)
    except CollectionNotFound:
        result = import_file(store, migration.source.collection, migration.source.seed)
        if log:
            log.info(f"seeded {store.name}:{migration.source.collection} with {result.records} "
                     f"records from {migration.source.seed}")


def export_partition(migration: MigrationSpec, resources, key: str, log) -> dg.MaterializeResult:
    """One namespace to its file: the export asset's work, also run by the parallel job."""
    path = migration.stage_path("export", key)
    with getattr(resources, source_key(migration)).get_client() as source:
        ensure_seeded(source, migration, log)
        result = export_collection(
            source, migration.source.collection, path, namespaces=[namespace_of(key)],
            batch_size=migration.options.batch_size, progress=LogProgress(log),
        )
    log.info(result.summary("exported", f"to {path}"))
    return file_result(path, seconds=round(result.seconds, 3))


def export_asset(migration: MigrationSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    resource_key = source_key(migration)
    store = migration.source.store

    @dg.asset(**stage_asset_args(
        migration, "export", partitions, kind=store, resource_key=resource_key,
        description=f"One namespace of {store}:{migration.source.collection} as a .vmig.jsonl file "
                    f"and its meta sidecar under VEX_DATA_DIR/{migration.name}/export/.",
    ))
    def export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return export_partition(migration, context.resources, context.partition_key, context.log)

    return export
