"""Fitting linear maps between embedding spaces, and choosing one by held-out score.

Rows are L2-normalised first: embeddings are compared by cosine, so the map should
reproduce directions, not lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("procrustes", "ridge", "low_rank")


def normalise(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


@dataclass
class LinearMap:
    """y = normalise(x @ weight + bias)."""

    weight: np.ndarray  # (dims_in, dims_out)
    bias: np.ndarray  # (dims_out,)
    method: str

    def apply(self, rows: np.ndarray) -> np.ndarray:
        return normalise(normalise(rows) @ self.weight + self.bias)


def _procrustes(x: np.ndarray, y: np.ndarray) -> LinearMap:
    """The rotation closest to mapping x onto y (same dims): W = U V^T of svd(x^T y)."""
    u, _, vt = np.linalg.svd(x.T.astype(np.float64) @ y, full_matrices=False)
    return LinearMap((u @ vt).astype(np.float32), np.zeros(y.shape[1], np.float32), "procrustes")


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> LinearMap:
    """Least squares with an L2 penalty, on centred data (the bias absorbs the means)."""
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = (x - mx).astype(np.float64), (y - my).astype(np.float64)
    weight = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return LinearMap(weight.astype(np.float32), (my - mx @ weight).astype(np.float32), "ridge")


def _low_rank(x: np.ndarray, y: np.ndarray, rank: int | None = None) -> LinearMap:
    """The ridge map truncated to its top singular directions: fewer parameters, less overfit."""
    full = _ridge(x, y)
    rank = rank or max(1, min(x.shape[1], y.shape[1]) // 2)
    u, s, vt = np.linalg.svd(full.weight.astype(np.float64), full_matrices=False)
    weight = (u[:, :rank] * s[:rank]) @ vt[:rank]
    mx, my = x.mean(axis=0), y.mean(axis=0)
    return LinearMap(weight.astype(np.float32), (my - mx @ weight).astype(np.float32), "low_rank")


FITTERS = {"procrustes": _procrustes, "ridge": _ridge, "low_rank": _low_rank}


def mean_cosine(mapped: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean(np.sum(normalise(mapped) * normalise(target), axis=1)))


def fit(source: np.ndarray, target: np.ndarray, method: str = "auto", holdout: float = 0.1,
        seed: int = 0) -> tuple[LinearMap, dict[str, float]]:
    """Fit on aligned rows; score each candidate on a held-out split; refit the choice on all.

    Returns the map and the held-out mean cosine of every candidate tried.
    """
    x, y = normalise(source), normalise(target)
    if len(x) != len(y) or len(x) < 10:
        raise ValueError(f"need at least 10 aligned pairs of equal count, got {len(x)} and {len(y)}")
    candidates = [m for m in METHODS if m != "procrustes" or x.shape[1] == y.shape[1]]
    if method != "auto":
        if method not in candidates:
            raise ValueError(f"method {method!r} is not possible here; choose one of {', '.join(candidates)}")
        candidates = [method]
    order = np.random.default_rng(seed).permutation(len(x))
    cut = max(1, int(len(x) * holdout))
    test, train = order[:cut], order[cut:]
    scores = {name: mean_cosine(FITTERS[name](x[train], y[train]).apply(x[test]), y[test]) for name in candidates}
    best = max(scores, key=scores.get)
    return FITTERS[best](x, y), scores
