"""The code location: everything built from ``migrations.yaml`` (or ``VEX_MIGRATIONS``).

``dagster dev -w workspace.yaml`` and ``dg dev`` load ``defs`` from here. Runs use
the in-process executor: a run is one namespace's export -> import chain, which is
sequential anyway, and partitions run in parallel as separate runs (bounded by the
per-store pools). The ``<name>_parallel`` jobs bring their own multiprocess
executor: all namespaces in one run, as parallel steps (``jobs/parallel.py``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from vex_dagster.assets import migration_assets, namespace_partitions
from vex_dagster.assets.export import source_key
from vex_dagster.assets.load import target_key
from vex_dagster.checks import file_checks, target_checks
from vex_dagster.jobs import (
    INBOX_TARGET, discovery_sensor, inbox_import_job, inbox_sensor, migration_job, migration_schedule, parallel_job,
)
from vex_dagster.migrations import InboxTargetSpec, build_resource, load_migrations

DEFAULT_INBOX_TARGET = InboxTargetSpec(store="vektor", settings={"path": "inbox/inbox.db"})


def build_definitions(path: str | Path | None = None) -> dg.Definitions:
    config = load_migrations(path)
    assets, checks, jobs, schedules, sensors, resources = [], [], [], [], [], {}
    for migration in config.migrations:
        partitions = namespace_partitions(migration)
        assets += migration_assets(migration, partitions)
        for stage in ("export", migration.transform):
            if stage:
                checks += file_checks(migration, stage, partitions)
        checks += target_checks(migration, partitions)
        job = migration_job(migration)
        jobs += [job, parallel_job(migration, partitions)]
        if migration.cron:
            schedules.append(migration_schedule(migration, job, partitions))
        sensors.append(discovery_sensor(migration, partitions))
        resources[source_key(migration)] = build_resource(migration.source, f"{migration.name}.source")
        resources[target_key(migration)] = build_resource(migration.target, f"{migration.name}.target")
    inbox_target = (config.inbox.target if config.inbox and config.inbox.target else DEFAULT_INBOX_TARGET)
    resources[INBOX_TARGET] = build_resource(inbox_target, "inbox.target")
    jobs.append(inbox_import_job)
    sensors.append(inbox_sensor(config, inbox_target, inbox_import_job))
    return dg.Definitions(assets=assets, asset_checks=checks, jobs=jobs, schedules=schedules,
                          sensors=sensors, resources=resources, executor=dg.in_process_executor)


defs = build_definitions()
