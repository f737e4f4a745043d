"""A migration's assets: export (partitioned by namespace) -> [reembed | adapt] -> import."""

from __future__ import annotations

import dagster as dg

from vex_dagster.assets.export import export_asset
from vex_dagster.assets.load import import_asset
from vex_dagster.assets.transform import transform_asset
from vex_dagster.migrations import MigrationSpec


def namespace_partitions(migration: MigrationSpec) -> dg.DynamicPartitionsDefinition:
    """One partition per source namespace, added by the migration's discovery sensor."""
    return dg.DynamicPartitionsDefinition(name=f"{migration.name}_namespaces")


def migration_assets(migration: MigrationSpec, partitions) -> list[dg.AssetsDefinition]:
    stages = [export_asset(migration, partitions)]
    if migration.transform:
        stages.append(transform_asset(migration, partitions))
    stages.append(import_asset(migration, partitions))
    return stages


__all__ = ["migration_assets", "namespace_partitions"]
