"""Kill a 1M-record `vex migrate` / `vex import` with SIGKILL at random points, resume, check exactly.

    .venv/bin/python -m bench.kill_resume                          # 1M x 384-d into pgvector
    .venv/bin/python -m bench.kill_resume --records 100000 --trials 1 --scenarios import

Each trial starts the command, kills it with SIGKILL when its progress passes a
random point, restarts it with ``--resume``, kills that at a later random point,
and so on (``--kills`` times); the last ``--resume`` runs to the end. Then the target
is read back through the store and checked: exactly N records, no (namespace, id)
twice, the same ids as the source, every vector and text identical; no checkpoint
and no temporary file left behind. Progress is watched, not timed, so the kill
points do not depend on how loaded the machine is: during a migrate's export, the
size of its temporary file against the source file; during an import, the
records in its checkpoint. A migrate's progress is export then import, half each.

Exit status 1 if any trial fails its checks. The small, fast version of this is
``tests/test_resume.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.memory import make_file
from vex_dagster.checkpoint import Checkpoint
from vex_dagster.processes import children_of, has_exited, pid_alive
from vex_dagster.stores import open_store
from vex_dagster.stores.embedded_postgres import release
from vex_dagster.vmig import read_records

VEX = [sys.executable, "-m", "vex_dagster.cli"]


def fingerprint(vector, text) -> bytes:
    """8 bytes that change if any vector component or the text changes."""
    return hashlib.blake2b(vector.tobytes() + (text or "").encode(), digest_size=8).digest()


@dataclass
class Trial:
    scenario: str
    kills: list[str] = field(default_factory=list)  # where each kill landed, as the user would see it
    resumed_after: list[int] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


class Watch:
    """Overall progress of one command in [0, 1], read from the files it writes."""

    def __init__(self, scenario: str, checkpoint: Path, export_final: Path | None, export_bytes: int, records: int):
        self.scenario, self.checkpoint, self.export_final = scenario, checkpoint, export_final
        self.export_bytes, self.records = export_bytes, records

    def records_done(self) -> int:
        try:
            return orjson.loads(self.checkpoint.read_bytes())["records_done"]
        except (OSError, ValueError):  # not written yet, or replaced as we read
            return 0

    def exported_bytes(self) -> int:
        """The size of the live export's temporary (a killed one's may linger a moment)."""
        parts = self.export_final.parent.glob(f".{self.export_final.name}.*.part")
        live = [p for p in parts if pid_alive(int(p.name[:-len(".part")].rsplit("-", 1)[1]))]
        return sum(p.stat().st_size for p in live if p.exists())

    def progress(self) -> tuple[float, str]:
        """(fraction, a description of where the command is)."""
        if self.scenario == "import":
            done = self.records_done()
            return done / self.records, f"import at record {done:,}"
        if self.export_final.exists() or self.checkpoint.exists():  # the export is complete
            done = self.records_done()
            return 0.5 + 0.5 * done / self.records, f"import at record {done:,}"
        written = self.exported_bytes()
        return 0.5 * written / self.export_bytes, f"export at {written / self.export_bytes:.0%} of the file"


def run_until(command: list[str], watch: Watch, target: float | None) -> tuple[subprocess.CompletedProcess | None, str]:
    """Run ``command``; SIGKILL it once progress passes ``target`` (None: let it finish).
    A process vex started (an import's parser) must end by itself within 10 s of the kill."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if target is None:
        stdout, stderr = process.communicate()
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), "finished"
    while process.poll() is None:
        fraction, where = watch.progress()
        if fraction >= target:
            children = children_of(process.pid)
            process.send_signal(signal.SIGKILL)
            process.communicate()
            deadline = time.monotonic() + 10
            while not all(has_exited(pid) for pid in children) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not all(has_exited(pid) for pid in children):
                raise RuntimeError(f"processes {children} of the killed vex still run")
            return None, where
        time.sleep(0.02)
    raise RuntimeError(f"{' '.join(command[3:5])} finished before progress {target:.2f}: "
                       f"{process.stderr.read()[-500:]}")


def check_target(store: str, settings: dict, collection: str, expected: dict) -> list[str]:
    """Read the whole collection back; what differs from the source, in words."""
    problems, seen = [], set()
    with open_store(store, settings) as opened:
        for batch in opened.iter_batches(collection, batch_size=5000):
            for record in batch:
                key = (record.namespace or "", record.id)
                if key in seen:
                    problems.append(f"duplicate {key}")
                seen.add(key)
                want = expected.get(key)
                if want is None:
                    problems.append(f"unexpected record {key}")
                elif want != fingerprint(record.vector, record.text):
                    problems.append(f"record {key} differs from the source")
    missing = len(expected.keys() - seen)
    if missing:
        problems.append(f"{missing:,} records missing")
    if len(seen) != len(expected):
        problems.append(f"{len(seen):,} records, expected {len(expected):,}")
    return problems[:20]


def run_trial(scenario: str, number: int, args, data: Path, source_db: Path, work: Path,
              expected: dict, rng: random.Random) -> Trial:
    collection = f"kr_{scenario}_{number}"
    target_flags = {"pgvector": ["--data-dir", str(work / "pg"), "--index", "none"],
                    "vektor": ["--path", str(work / "target.db")]}[args.target]
    settings = {"pgvector": {"data_dir": str(work / "pg")}, "vektor": {"path": str(work / "target.db")}}[args.target]
    batch = ["--batch-size", str(args.batch_size)]
    if scenario == "import":
        command = VEX + ["import", "--to", args.target, *target_flags, "--collection", collection,
                         "--in", str(data), *batch]
        checkpoint, export_final = Checkpoint.path_for(data), None
    else:
        trial_dir = work / f"migrate-{number}"
        side = [f"--to-{flag[2:]}" if flag.startswith("--") else flag for flag in target_flags]
        command = VEX + ["migrate", "--from", "vektor", "--from-path", str(source_db), "--to", args.target, *side,
                         "--collection", "docs", "--to-collection", collection, "--workdir", str(trial_dir),
                         "--remove-file", *batch]
        export_final = trial_dir / "vektor-docs.vmig.jsonl"
        checkpoint = Checkpoint.path_for(export_final)
    watch = Watch(scenario, checkpoint, export_final, data.stat().st_size, len(expected))
    trial = Trial(scenario)
    started = time.perf_counter()
    points = sorted(rng.uniform(0.02, 0.98) for _ in range(args.kills))
    for i, point in enumerate(points):
        _, where = run_until(command + (["--resume"] if i else []), watch, point)
        trial.kills.append(where)
    finished, _ = run_until(command + ["--resume"], watch, None)
    trial.seconds = time.perf_counter() - started
    if finished.returncode != 0:
        trial.problems.append(f"the last --resume failed: {finished.stderr[-500:]}")
        return trial
    trial.resumed_after = [int(n.replace(",", "")) for n in re.findall(r"resumed after ([\d,]+)", finished.stdout)]
    trial.problems += check_target(args.target, settings, collection, expected)
    if checkpoint.exists():
        trial.problems.append(f"the checkpoint {checkpoint.name} is left behind")
    leftovers = [p.name for p in (export_final or data).parent.glob("*.part")]
    if leftovers:
        trial.problems.append(f"temporary files left behind: {leftovers}")
    return trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--target", default="pgvector", choices=["pgvector", "vektor"])
    parser.add_argument("--scenarios", nargs="+", default=["migrate", "import"], choices=["migrate", "import"])
    parser.add_argument("--trials", type=int, default=3, help="trials per scenario")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs per trial before the last --resume")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help="an existing vmig file to use (default: generated)")
    parser.add_argument("--workdir", type=Path, help="where stores and files go (default: a temporary folder)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="vex-kill-", dir=args.workdir) as tmp:
        work = Path(tmp)
        data = args.data or work / "source.vmig.jsonl"
        if not args.data:
            make_file(data, args.records, args.dims)
        expected = {(r.namespace or "", r.id): fingerprint(r.vector, r.text) for r in read_records(data)}
        source_db = work / "source.db"
        if "migrate" in args.scenarios:
            subprocess.run(VEX + ["import", "--to", "vektor", "--path", str(source_db), "--collection", "docs",
                                  "--in", str(data)], check=True, capture_output=True)
        print(f"{len(expected):,} records x {args.dims}-d into {args.target}; {args.kills} kills per trial, "
              f"seed {args.seed}\n")
        print("| scenario | trial | killed at (kill -9) | last run resumed after | seconds | result |")
        print("|---|---:|---|---:|---:|---|")
        failed = False
        for scenario in args.scenarios:
            for number in range(1, args.trials + 1):
                trial = run_trial(scenario, number, args, data, source_db, work, expected, rng)
                failed |= bool(trial.problems)
                result = "; ".join(trial.problems) or f"exact: {len(expected):,} records, no duplicates, identical"
                resumed = f"{trial.resumed_after[0]:,}" if trial.resumed_after else "-"
                print(f"| {scenario} | {number} | {'; '.join(trial.kills)} | {resumed} | {trial.seconds:.0f} | "
                      f"{result} |", flush=True)
        if args.target == "pgvector" and (work / "pg").exists():
            release(work / "pg")  # stop the server before its folder is deleted
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
