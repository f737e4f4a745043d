"""Peak memory of `vex export / import / migrate` as the data grows (flat = streaming).

Each command runs in its own process, which reports its own peak RSS (``VmHWM``
from ``/proc/self/status``) as it exits. Not ``os.wait4``/``ru_maxrss``: Linux
carries the parent's high-water mark across fork and exec into the child's
``ru_maxrss``, so that figure was the bench process's own size (it generates the
data), the same for every command. An import parses in a forked child, which
shares most of its pages with vex; so the peak of vex and its children together
is also sampled every 10 ms as proportional set size (PSS: a shared page counts
half in each), and the larger of the two figures is reported. Data is generated
in a temporary folder (not in the repo).

    .venv/bin/python -m bench.memory                # 10k and 200k records, 384-d
    .venv/bin/python -m bench.memory --sizes 10000 100000 1000000 --stores vektor pgvector

pgvector imports skip the HNSW build by default (``--pg-index none``): the build runs
inside PostgreSQL, not in the vex process, and at 1M records it takes longer than
the load itself; ``--pg-index hnsw`` measures it too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vex_dagster.processes import children_of
from vex_dagster.vmig import Record, VmigWriter


def make_file(path: Path, count: int, dims: int) -> None:
    rng = np.random.default_rng(0)
    with VmigWriter(path, metric="cosine") as writer:
        for start in range(0, count, 10_000):
            block = rng.standard_normal((min(10_000, count - start), dims)).astype(np.float32)
            for offset, vector in enumerate(block):
                i = start + offset
                writer.write(Record(id=f"doc-{i}", vector=vector, text=f"passage {i}",
                                    namespace=("a", "b")[i % 2], metadata={"i": i}))


#: the vex CLI, writing this process's peak RSS in kB to $VEX_BENCH_PEAK when it exits
_REPORTING_VEX = """
import atexit, os, sys
def report():
    status = open("/proc/self/status").read()
    open(os.environ["VEX_BENCH_PEAK"], "w").write(status.split("VmHWM:")[1].split()[0])
atexit.register(report)
from vex_dagster.cli import main
sys.argv[0] = "vex"
main()
"""


def _pss_kb(pid: int) -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return int(rollup.split("\nPss:")[1].split()[0])


def _tree_pss_kb(root: int) -> int:
    """PSS of ``root`` and every process below it."""
    tree, frontier = [root], [root]
    while frontier:
        frontier = [child for pid in frontier for child in children_of(pid)]
        tree += frontier
    return sum(_pss_kb(pid) for pid in tree)


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """(peak memory in MB, seconds) of one vex command in a fresh process: its own
    VmHWM, or the sampled peak PSS of it and its children if that is larger."""
    with tempfile.NamedTemporaryFile(prefix="vex-peak-") as peak, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", _REPORTING_VEX, *args], stdout=subprocess.DEVNULL,
                                   stderr=stderr, env={**os.environ, "VEX_BENCH_PEAK": peak.name})
        tree_peak = 0
        while process.poll() is None:
            tree_peak = max(tree_peak, _tree_pss_kb(process.pid))
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            stderr.seek(0)
            raise RuntimeError(f"vex {' '.join(args)} failed: {stderr.read().decode()[-500:]}")
        return max(int(Path(peak.name).read_text()), tree_peak) / 1024, seconds


def store_flags(store: str, root: Path, side: str = "") -> list[str]:
    prefix = f"--{side}-" if side else "--"
    return {"vektor": [f"{prefix}path", str(root / "vektor.db")],
            "pgvector": [f"{prefix}data-dir", str(root / "pg")]}[store]


def measure(count: int, dims: int, store: str, root: Path, pg_index: str) -> dict[str, tuple[float, float]]:
    data = root / f"in-{count}.vmig.jsonl"
    make_file(data, count, dims)
    collection = f"c{count}"
    index_flags = ["--index", pg_index] if store == "pgvector" else []
    results = {
        "import": peak_rss_mb(["import", "--to", store, *store_flags(store, root), *index_flags,
                               "--collection", collection, "--in", str(data)]),
        "export": peak_rss_mb(["export", "--from", store, *store_flags(store, root), "--collection", collection,
                               "--out", str(root / f"out-{count}.vmig.jsonl")]),
        "migrate": peak_rss_mb(["migrate", "--from", store, *store_flags(store, root, "from"), "--to", "jsonl",
                                "--to-dir", str(root / "files"), "--collection", collection,
                                "--workdir", str(root), "--remove-file"]),
    }
    for path in root.glob(f"*-{count}.vmig.*"):
        path.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--stores", nargs="+", default=["vektor"])
    parser.add_argument("--pg-index", default="none", choices=["none", "hnsw", "ivfflat"],
                        help="index pgvector builds after each import (default none: see the docstring)")
    args = parser.parse_args()
    print("| store | records | import MB | export MB | migrate MB | import s | export s | migrate s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for store in args.stores:
        with tempfile.TemporaryDirectory(prefix="vex-mem-") as tmp:
            for count in args.sizes:
                r = measure(count, args.dims, store, Path(tmp), args.pg_index)
                print(f"| {store} | {count:,} | {r['import'][0]:.0f} | {r['export'][0]:.0f} | "
                      f"{r['migrate'][0]:.0f} | {r['import'][1]:.1f} | {r['export'][1]:.1f} | "
                      f"{r['migrate'][1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
