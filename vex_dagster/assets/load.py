"""The import asset: load one namespace's file into the target collection."""

import dagster as dg

from vex_dagster.assets.files import stage_asset_args
from vex_dagster.migrations import MigrationSpec, namespace_of
from vex_dagster.pipeline import import_file
from vex_dagster.progress import LogProgress


def target_key(migration: MigrationSpec) -> str:
    return f"{migration.name}_target"


def import_partition(migration: MigrationSpec, resources, key: str, log) -> dg.MaterializeResult:
    """One namespace's file into the target: the import asset's work, also run by the parallel job."""
    store = migration.target.store
    path = migration.import_path(key)
    collection = migration.target_collection(key)
    with getattr(resources, target_key(migration)).get_client() as target:
        result = import_file(target, collection, path, batch_size=migration.options.batch_size,
                             metric=migration.options.metric, progress=LogProgress(log))
        in_target = target.describe(collection).namespaces.get(namespace_of(key), 0)
    log.info(result.summary("imported", f"into {store}:{collection}"))
    return dg.MaterializeResult(metadata={
        "store": store, "collection": collection, "from_file": dg.MetadataValue.path(str(path)),
        "records": result.records, "records_in_target_namespace": in_target,
        "dagster/row_count": in_target,
        "seconds": round(result.seconds, 3), "records_per_second": round(result.rate),
    })


def import_asset(migration: MigrationSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    resource_key = target_key(migration)
    store = migration.target.store
    upstream = migration.transform or "export"

    @dg.asset(**stage_asset_args(
        migration, "import", partitions, kind=store, upstream=upstream, resource_key=resource_key,
        description=f"The namespace's records upserted into {store}:{migration.target.collection}; "
                    f"the file is verified against its checksum before the first write.",
    ))
    def load(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return import_partition(migration, context.resources, context.partition_key, context.log)

    return load
