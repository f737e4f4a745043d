"""Exact k-nearest-neighbour search over streamed chunks of vectors (numpy).

Used by the stores that have no index of their own (vektor, jsonl), and as the
ground truth for search-parity checks. Memory holds one chunk plus k candidates.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vex_dagster.stores.base import Neighbour


def scores(matrix: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """Higher is nearer, for every metric (euclidean is negated distance)."""
    if metric == "euclidean":
        return -np.linalg.norm(matrix - query, axis=1)
    if metric == "dot":
        return matrix @ query
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    return (matrix @ query) / np.where(norms == 0, 1.0, norms)


def top_k(
    chunks: Iterable[tuple[list[str], np.ndarray]], query: np.ndarray, k: int, metric: str = "cosine"
) -> list[Neighbour]:
    """The k best (id, score) across all chunks, best first."""
    query = np.asarray(query, dtype=np.float32)
    best_ids: list[str] = []
    best_scores = np.empty(0, dtype=np.float32)
    for ids, matrix in chunks:
        if not len(ids):
            continue
        chunk_scores = scores(matrix, query, metric)
        pool_scores = np.concatenate([best_scores, chunk_scores])
        pool_ids = best_ids + list(ids)
        keep = np.argsort(-pool_scores, kind="stable")[:k]
        best_scores = pool_scores[keep]
        best_ids = [pool_ids[i] for i in keep]
    return [Neighbour(i, float(s)) for i, s in zip(best_ids, best_scores)]
