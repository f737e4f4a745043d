"""How well a drift adapter keeps search quality, measured on real text with real models.

Corpus: real offline passages (the Python reference in ``pydoc_data`` and the
standard library's docstrings), shuffled once with a fixed seed; 800 held out.
Task: each held-out passage is cut in two; its first half is the query, its second
half the document. recall@10 = the share of queries whose own document is among
the 10 nearest.

- ceiling: documents and queries both embedded with model B (a real re-embed);
- adapted: documents embedded with A and translated to B, queries embedded with B;
- retention = recall_adapted / recall_ceiling; also the mean cosine between
  translated and true B vectors, and apply throughput.

    .venv/bin/python -m bench.adapter_quality        # needs the adapter-train extra
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from vex_dagster.adapter.fit import fit, mean_cosine, normalise
from vex_dagster.corpus import python_doc_passages, stdlib_docstring_passages
from vex_dagster.embed.offline import E5, ENCODERS, GLOVE

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "embeddings"
HELD_OUT = 800
PAIRS = [(E5, GLOVE), (GLOVE, E5)]


def split_corpus() -> tuple[list[str], list[str], list[str]]:
    """(training texts, held-out query halves, held-out document halves)."""
    texts = sorted({p.text for p in python_doc_passages() + stdlib_docstring_passages()})
    order = np.random.default_rng(42).permutation(len(texts))
    texts = [texts[i] for i in order]
    held, train = texts[:HELD_OUT], texts[HELD_OUT:]
    queries, documents = [], []
    for text in held:
        words = text.split()
        cut = max(1, len(words) // 2)
        queries.append(" ".join(words[:cut]))
        documents.append(" ".join(words[cut:]) or text)
    return train, queries, documents


def embeddings(model: str, name: str, texts: list[str]) -> np.ndarray:
    """Embed once, cache under .cache/ (gitignored): reruns are cheap."""
    path = CACHE / f"{model.replace('/', '--')}.{name}.{len(texts)}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    encode = ENCODERS[model]
    vectors = np.concatenate([encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    np.save(path, vectors)
    return vectors


def recall_at_10(documents: np.ndarray, queries: np.ndarray) -> float:
    scores = normalise(queries) @ normalise(documents).T
    top = np.argsort(-scores, axis=1)[:, :10]
    return float(np.mean([i in row for i, row in enumerate(top)]))


def evaluate(source: str, target: str, train_sizes=(1000, 5000)) -> list[dict]:
    train, queries, documents = split_corpus()
    x_train, y_train = embeddings(source, "train", train), embeddings(target, "train", train)
    docs_a, docs_b = embeddings(source, "docs", documents), embeddings(target, "docs", documents)
    queries_b = embeddings(target, "queries", queries)
    ceiling = recall_at_10(docs_b, queries_b)
    rows = []
    for size in [s for s in train_sizes if s <= len(train)] + [len(train)]:
        adapter, scores = fit(x_train[:size], y_train[:size])
        started = time.perf_counter()
        translated = adapter.apply(docs_a)
        rate = len(docs_a) / (time.perf_counter() - started)
        adapted = recall_at_10(translated, queries_b)
        rows.append({"from": source, "to": target, "pairs": size, "method": adapter.method,
                     "recall_adapted": adapted, "recall_reembed": ceiling, "retention": adapted / ceiling,
                     "mean_cosine": mean_cosine(translated, docs_b), "vectors_per_s": rate,
                     "heldout": scores})
    return rows


def main() -> None:
    print("| from | to | training pairs | method | recall@10 adapted | recall@10 re-embed | retention "
          "| mean cosine | apply vectors/s |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    for source, target in PAIRS:
        for r in evaluate(source, target):
            print(f"| {r['from']} | {r['to']} | {r['pairs']:,} | {r['method']} | {r['recall_adapted']:.3f} | "
                  f"{r['recall_reembed']:.3f} | {r['retention']:.1%} | {r['mean_cosine']:.3f} | "
                  f"{r['vectors_per_s']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
