"""Sensors: namespaces appearing in a migration's source, files arriving in the inbox."""

import json
from pathlib import Path

import dagster as dg

from vex_dagster.assets.export import ensure_seeded, source_key
from vex_dagster.migrations import (
    InboxTargetSpec, MigrationSpec, MigrationsFile, partition_key, usable_partition_key,
)
from vex_dagster.stores import StoreError
from vex_dagster.vmig import MetaError, file_checksum, meta_path, read_meta
from vex_dagster.vmig.files import DATA_SUFFIX


def source_partition_keys(migration: MigrationSpec, resources, log) -> list[str]:
    """The partition keys of the source's namespaces (those the migration wants)."""
    with getattr(resources, source_key(migration)).get_client() as source:
        ensure_seeded(source, migration, log)
        found = source.describe(migration.source.collection).namespaces
    wanted = migration.source.namespaces
    keys, unusable = [], []
    for namespace in found:
        if wanted is None or namespace in wanted:
            key = partition_key(namespace)
            (keys if usable_partition_key(key) else unusable).append(key)
    if unusable:
        log.warning(f"namespaces that cannot be Dagster partition keys (they hold '...' "
                    f"or control characters), left out: {unusable!r}; export them with vex export")
    return keys


def discovery_sensor(migration: MigrationSpec, partitions: dg.DynamicPartitionsDefinition
                     ) -> dg.SensorDefinition:
    """Adds a partition for each source namespace not known yet (and no runs: the job or
    the schedule decides when to migrate)."""
    resource_key = source_key(migration)

    @dg.sensor(name=f"{migration.name}_discover_namespaces", minimum_interval_seconds=60,
               required_resource_keys={resource_key}, default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Adds a partition of {migration.name} for each namespace of "
                           f"{migration.source.store}:{migration.source.collection}.")
    def discover(context: dg.SensorEvaluationContext):
        try:
            keys = source_partition_keys(migration, context.resources, context.log)
        except StoreError as exc:
            return dg.SkipReason(f"cannot read the source: {exc}")
        known = set(context.instance.get_dynamic_partitions(partitions.name))
        new = [key for key in keys if key not in known]
        context.update_cursor(json.dumps(sorted(keys)))
        if not new:
            return dg.SkipReason(f"no new namespaces ({len(keys)} known)")
        context.log.info(f"new namespaces in {migration.name}'s source: {', '.join(new)}")
        return dg.SensorResult(dynamic_partitions_requests=[partitions.build_add_request(new)])

    return discover


def _inbox_target(path: Path, default: InboxTargetSpec) -> tuple[str, str]:
    """(store, collection) for a file: its meta's ``target``, else the YAML's; the
    collection defaults to the file's name."""
    named = read_meta(path).extra.get("target") or {}
    store = named.get("store") or default.store
    collection = named.get("collection") or default.collection or path.name[: -len(DATA_SUFFIX)]
    return store, collection


def inbox_sensor(config: MigrationsFile, target: InboxTargetSpec, job) -> dg.SensorDefinition:
    """Launches one import per complete file (its checksum matches its meta), once: the
    cursor keeps ``name:checksum`` of every file launched, so a new version is imported
    again and an unchanged one never is."""

    @dg.sensor(name="vex_inbox", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Imports each complete .vmig.jsonl dropped into the inbox folder, once.")
    def inbox(context: dg.SensorEvaluationContext):
        folder = config.inbox_dir()
        done = set(json.loads(context.cursor)) if context.cursor else set()
        requests = []
        for path in sorted(folder.glob(f"*{DATA_SUFFIX}")) if folder.is_dir() else []:
            if not meta_path(path).exists():
                continue  # still being written: the meta comes last
            try:
                checksum = read_meta(path).checksum
            except MetaError as exc:
                context.log.warning(f"{path.name}: {exc}")
                continue
            key = f"{path.name}:{checksum}"
            if key in done:
                continue
            if file_checksum(path).checksum != checksum:
                context.log.info(f"{path.name} does not match its meta checksum yet; waiting")
                continue
            store, collection = _inbox_target(path, target)
            requests.append(dg.RunRequest(run_key=key, run_config={"ops": {"import_inbox_file": {
                "config": {"path": str(path), "store": store, "collection": collection}}}},
                tags={"vex/inbox_file": path.name}))
            done.add(key)
        if not requests:
            return dg.SkipReason(f"no new complete files in {folder}")
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(done)))

    return inbox

