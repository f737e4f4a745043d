"""A job per migration, and a schedule when the migration names a cron."""

import dagster as dg

from vex_dagster.migrations import MigrationSpec


def migration_job(migration: MigrationSpec):
    return dg.define_asset_job(
        name=migration.name,
        selection=dg.AssetSelection.groups(migration.name),
        description=migration.description or f"Migrate {migration.source.store}:"
        f"{migration.source.collection} to {migration.target.store}:{migration.target.collection}, "
        f"one namespace (partition) per run, with every check.",
    )


def migration_schedule(migration: MigrationSpec, job, partitions: dg.DynamicPartitionsDefinition
                       ) -> dg.ScheduleDefinition:
    """On each tick, one run per known namespace: a periodic sync of the whole source."""

    @dg.schedule(name=f"{migration.name}_schedule", cron_schedule=migration.cron, job=job,
                 default_status=dg.DefaultScheduleStatus.RUNNING)
    def sync(context: dg.ScheduleEvaluationContext):
        keys = context.instance.get_dynamic_partitions(partitions.name)
        if not keys:
            return dg.SkipReason(f"no namespaces discovered yet in {migration.name}'s source")
        stamp = context.scheduled_execution_time.isoformat()
        return [dg.RunRequest(partition_key=key, run_key=f"{key}@{stamp}") for key in keys]

    return sync
