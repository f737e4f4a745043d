"""One migration's namespaces in one Dagster run: one process against the multiprocess executor.

    .venv/bin/python -m bench.scale_out                        # 4 namespaces x 50k x 384-d, vektor -> pgvector
    .venv/bin/python -m bench.scale_out --namespaces 4 --per-namespace 100000 --processes 1 2

Runs the ``<name>_parallel`` job (``vex_dagster/jobs/parallel.py``) with the
in-process executor (one process), then with the multiprocess executor at each
``--processes`` count, each on a fresh target (the embedded PostgreSQL, no index)
from the same vektor source, and reports the run's wall time from Dagster's own
RUN_START / RUN_SUCCESS events, and how many steps ran at once on average (the
steps' seconds over the run's). Multiprocess runs start their step processes from
a forkserver with vex preloaded. Every run is checked: the target holds every record.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import numpy as np

from vex_dagster.stores.embedded_postgres import embedded_dsn, release
from vex_dagster.vmig import Record, VmigWriter

VEX = [sys.executable, "-m", "vex_dagster.cli"]
START = {"start_method": {"forkserver": {"preload_modules": ["vex_dagster.definitions"]}}}
MIGRATIONS = """
migrations:
  - name: scale
    source: {{store: vektor, collection: docs, settings: {{path: source.db}}}}
    target: {{store: pgvector, collection: docs, settings: {{data_dir: pg, index: none}}}}
    options: {{batch_size: {batch_size}}}
"""


def scale_job() -> dg.JobDefinition:
    """Module level, so the executor's processes can rebuild the job (VEX_MIGRATIONS is set)."""
    from vex_dagster.definitions import build_definitions

    return build_definitions().resolve_job_def("scale_parallel")


def make_source(path: Path, namespaces: int, per_namespace: int, dims: int) -> None:
    rng = np.random.default_rng(0)
    with VmigWriter(path, metric="cosine") as writer:
        for ns in range(namespaces):
            for start in range(0, per_namespace, 10_000):
                block = rng.standard_normal((min(10_000, per_namespace - start), dims)).astype(np.float32)
                writer.write_all(Record(id=f"doc-{start + i}", vector=v, text=f"passage {start + i}",
                                        namespace=f"ns{ns}", metadata={"i": start + i}) for i, v in enumerate(block))


def run_timing(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    """(the run's wall seconds, the sum of its steps' seconds), from Dagster's own events.

    Their ratio is how many steps ran at once on average: 1.0 is one at a time."""
    run, starts, step_total = {}, {}, 0.0
    for record in instance.get_records_for_run(run_id).records:
        event, when = record.event_log_entry.dagster_event, record.event_log_entry.timestamp
        if event is None:
            continue
        if event.event_type in (dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS):
            run[event.event_type] = when
        elif event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = when
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            step_total += when - starts[event.step_key]
    return run[dg.DagsterEventType.RUN_SUCCESS] - run[dg.DagsterEventType.RUN_START], step_total


def measure(executor: dict, source_db: Path, data: Path, expected: int) -> tuple[float, float]:
    """Seconds for one run of the parallel job on a fresh data dir (the source copied in).

    The embedded PostgreSQL is started here first, as a user's server would already
    run: otherwise the last step process to close it stops it and the next one
    starts it again."""
    data.mkdir()
    shutil.copyfile(source_db, data / "source.db")
    os.environ["VEX_DATA_DIR"] = str(data)
    embedded_dsn(data / "pg")
    with dg.instance_for_test() as instance:
        with dg.execute_job(dg.reconstructable(scale_job), instance,
                            run_config={"execution": {"config": executor}}) as result:
            if not result.success:
                raise RuntimeError([e.message for e in result.all_events if e.is_failure])
            timing = run_timing(instance, result.dagster_run.run_id)
    from vex_dagster.stores.pgvector import PgvectorStore

    with PgvectorStore(data_dir=str(data / "pg")) as target:
        count = target.describe("docs").count
    release(data / "pg")
    if count != expected:
        raise RuntimeError(f"the target holds {count:,} records, expected {expected:,}")
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=4)
    parser.add_argument("--per-namespace", type=int, default=50_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--processes", type=int, nargs="+", default=[2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vex-scale-") as tmp:
        root = Path(tmp)
        file = root / "source.vmig.jsonl"
        make_source(file, args.namespaces, args.per_namespace, args.dims)
        source_db = root / "source.db"
        subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(source_db), "--collection", "docs",
                              "--in", str(file)], check=True, capture_output=True)
        migrations = root / "migrations.yaml"
        migrations.write_text(MIGRATIONS.format(batch_size=args.batch_size))
        os.environ["VEX_MIGRATIONS"] = str(migrations)
        total = args.namespaces * args.per_namespace
        print(f"{args.namespaces} namespaces x {args.per_namespace:,} records x {args.dims}-d, "
              f"vektor -> pgvector (embedded, no index), {os.cpu_count()} cores\n")
        print("| executor | processes | seconds | records/s | speed-up | steps at once |")
        print("|---|---:|---:|---:|---:|---:|")
        one, steps = measure({"in_process": {}}, source_db, root / "data-1", total)
        print(f"| in_process | 1 | {one:.1f} | {total / one:,.0f} | 1.00 | {steps / one:.2f} |", flush=True)
        for processes in args.processes:
            seconds, steps = measure({"multiprocess": {"max_concurrent": processes, **START}}, source_db,
                                     root / f"data-mp{processes}", total)
            print(f"| multiprocess | {processes} | {seconds:.1f} | {total / seconds:,.0f} | {one / seconds:.2f} | "
                  f"{steps / seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
