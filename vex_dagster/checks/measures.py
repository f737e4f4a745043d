"""What the asset checks measure, as plain functions over a file and a store.

Kept free of Dagster so each measure can be tested and reused on its own; the
check definitions in ``checks/__init__.py`` only wrap these. Each returns
``(passed, metadata)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vex_dagster.stores.base import Neighbour, Store
from vex_dagster.stores.knn import top_k
from vex_dagster.vmig import MetaError, VmigReader, file_checksum, read_meta
from vex_dagster.vmig.lint import lint_file
from vex_dagster.vmig.record import Record

Outcome = tuple[bool, dict[str, Any]]
MIN_COSINE = 0.9999
K = 10
QUERIES = 20


def lint_outcome(path: Path) -> Outcome:
    report = lint_file(path)
    problems = [str(p) for p in report.problems if p.severity == "error"][:10]
    return report.ok, {
        "records": report.records, "errors": report.errors,
        "warnings": sum(p.severity == "warning" for p in report.problems),
        "first_errors": "\n".join(problems) or "none",
    }


def checksum_outcome(path: Path) -> Outcome:
    try:
        meta = read_meta(path)
    except MetaError as exc:
        return False, {"error": str(exc)}
    digest = file_checksum(path)
    passed = digest.terminated and digest.checksum == meta.checksum and digest.lines == meta.record_count
    return passed, {
        "file_checksum": digest.checksum, "meta_checksum": meta.checksum,
        "file_lines": digest.lines, "meta_record_count": meta.record_count,
        "last_line_terminated": digest.terminated,
    }


def count_outcome(store: Store, collection: str, path: Path) -> Outcome:
    """Every namespace of the file holds as many records in the target as in the file."""
    in_file = read_meta(path).namespaces
    in_target = store.describe(collection).namespaces
    differing = {ns: (n, in_target.get(ns, 0)) for ns, n in in_file.items() if in_target.get(ns, 0) != n}
    return not differing, {
        "file_counts": in_file, "target_counts": {ns: in_target.get(ns, 0) for ns in in_file},
        "namespaces_differing": len(differing),
    }


def spread_sample(path: Path, size: int) -> Iterator[Record]:
    """About ``size`` records spread evenly through the file (one pass, streaming)."""
    count = read_meta(path).record_count
    step = max(1, count // size)
    for number, record in enumerate(VmigReader(path)):
        if number % step == 0 and record.vector is not None:
            yield record


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denominator) if denominator else float(np.array_equal(a, b))


def fidelity_outcome(store: Store, collection: str, path: Path, sample_size: int) -> Outcome:
    """Sampled records come back with the same id and text and a vector at cosine >= 0.9999."""
    sample = list(spread_sample(path, sample_size))
    by_namespace: dict[str, list[Record]] = {}
    for record in sample:
        by_namespace.setdefault(record.namespace or "", []).append(record)
    missing, text_differs, cosines = [], [], []
    for namespace, records in by_namespace.items():
        found = {r.id: r for r in store.fetch(collection, [r.id for r in records], namespace=namespace)}
        for record in records:
            got = found.get(record.id)
            if got is None:
                missing.append(record.id)
                continue
            if got.text != record.text:
                text_differs.append(record.id)
            cosines.append(_cosine(record.vector, got.vector) if got.vector is not None else 0.0)
    worst = min(cosines) if cosines else 0.0
    passed = bool(sample) and not missing and not text_differs and worst >= MIN_COSINE
    return passed, {
        "sampled": len(sample), "missing_ids": len(missing), "text_mismatches": len(text_differs),
        "min_cosine": round(worst, 6), "threshold": MIN_COSINE,
        "examples": ", ".join((missing + text_differs)[:5]) or "none",
    }


def _file_chunks(path: Path, namespace: str, size: int = 10_000) -> Iterator[tuple[list[str], np.ndarray]]:
    for batch in VmigReader(path).batches(size):
        kept = [r for r in batch if r.vector is not None and (r.namespace or "") == namespace]
        if kept:
            yield [r.id for r in kept], np.stack([r.vector for r in kept])


def exact_neighbours(path: Path, namespace: str, queries: list[np.ndarray], k: int, metric: str
                     ) -> list[list[Neighbour]]:
    """Exact top-k in the file for every query, in one streaming pass."""
    best: list[list[Neighbour]] = [[] for _ in queries]
    for ids, matrix in _file_chunks(path, namespace):
        for i, query in enumerate(queries):
            merged = best[i] + top_k([(ids, matrix)], query, k, metric)
            best[i] = sorted(merged, key=lambda n: -n.score)[:k]
    return best


def search_outcome(store: Store, collection: str, path: Path, metric: str, min_recall: float) -> Outcome:
    """Top-10 ids the target returns for 20 file vectors vs the exact top-10 in the file."""
    meta = read_meta(path)
    recalls = []
    for namespace in meta.namespaces:
        queries = [r.vector for r in spread_sample(path, QUERIES) if (r.namespace or "") == namespace]
        truth = exact_neighbours(path, namespace, queries, K, metric)
        for query, expected in zip(queries, truth):
            got = {n.id for n in store.search(collection, query, K, namespace=namespace)}
            wanted = {n.id for n in expected}
            recalls.append(len(got & wanted) / len(wanted) if wanted else 1.0)
    recall = float(np.mean(recalls)) if recalls else 0.0
    return bool(recalls) and recall >= min_recall, {
        "recall@10": round(recall, 4), "queries": len(recalls), "worst_query_recall":
        round(min(recalls), 4) if recalls else 0.0, "threshold": min_recall, "metric": metric,
    }
