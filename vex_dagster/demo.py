"""Helpers for ``scripts/demo``: register the demo's partitions, then report its runs.

The runs themselves are launched by the script with ``dg launch`` (one per
namespace); this module only does what has no Dagster CLI command: tick the
namespace-discovery sensor once against the instance in ``DAGSTER_HOME`` (as the
daemon would in ``dagster dev``) and summarise the checks of the latest runs.

    python -m vex_dagster.demo discover [MIGRATION]   # prints one partition key per line
    python -m vex_dagster.demo report [MIGRATION]
"""

from __future__ import annotations

import sys
import warnings

import dagster as dg

from vex_dagster.definitions import build_definitions
from vex_dagster.resources import data_dir

DEMO = "pydocs_demo"
warnings.filterwarnings("ignore", category=dg.BetaWarning)  # Dagster's own, not actionable here


def discover(migration: str = DEMO) -> list[str]:
    defs = build_definitions()
    instance = dg.DagsterInstance.get()
    sensor = defs.resolve_sensor_def(f"{migration}_discover_namespaces")
    result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=defs.resources))
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return instance.get_dynamic_partitions(f"{migration}_namespaces")


def report(migration: str = DEMO) -> bool:
    """Print each namespace's latest run and checks; True when every check passed."""
    instance = dg.DagsterInstance.get()
    graph = build_definitions().resolve_asset_graph()
    expected = sum(key.asset_key.path[0] == migration for key in graph.asset_check_keys)
    latest: dict[str, dg.DagsterRun] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(job_name=migration), limit=200):
        latest.setdefault(run.tags.get("dagster/partition", ""), run)  # newest first
    all_passed = bool(latest)
    for key, run in sorted(latest.items()):
        events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        checks = {e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data
                  for e in events}
        passed = sum(c.passed for c in checks.values())
        all_passed &= run.status == dg.DagsterRunStatus.SUCCESS and passed == len(checks) == expected
        print(f"  {key:<12} run {run.run_id[:8]} {run.status.value:<8} checks passed {passed}/{len(checks)}")
        for name, check in sorted(checks.items()):
            shown = {k: v.value for k, v in check.metadata.items()
                     if k in ("recall@10", "min_cosine", "target_counts", "records")}
            print(f"      {'ok  ' if check.passed else 'FAIL'} {name} {shown or ''}")
    root = data_dir()
    print(f"\nfiles under {root}:")
    for path in sorted((root / migration).rglob("*")):
        if path.is_file():
            print(f"  {path.relative_to(root)}  ({path.stat().st_size:,} bytes)")
    return all_passed


def main(argv: list[str]) -> int:
    command, migration = (argv + [DEMO])[:2] if argv else ("", DEMO)
    if command == "discover":
        print("\n".join(discover(migration)))
        return 0
    if command == "report":
        return 0 if report(migration) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
