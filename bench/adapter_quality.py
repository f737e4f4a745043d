"""How well a drift adapter keeps search quality, measured on real text with real models.

Corpus: ``vex_dagster.corpus.adapter_corpus`` (the Python reference in ``pydoc_data``
and the docstrings of the standard library, numpy, scipy and networkx: about 26,700
distinct passages, offline), shuffled once with a fixed seed; 800 held out, never
trained on, and the next 20,000 for training. Task: each held-out passage is cut in two; its first half is the query,
its second half the document. recall@10 = the share of queries whose own document
is among the 10 nearest of the 800.

- ceiling: documents and queries both embedded with model B (a real re-embed);
- adapted: documents embedded with A and translated to B, queries embedded with B,
  for adapters fitted on the first 1k, 5k and 20k training pairs;
- kept as is (same dims only): A's vectors searched with B's queries untranslated,
  what a store would do with them if nothing were done;
- retention = recall_adapted / recall_ceiling; the mean cosine between translated
  and true B vectors; apply throughput, both the matrix product alone and
  ``adapt_file`` end to end (read, translate, write a vmig file).

    .venv/bin/python -m bench.adapter_quality            # adapter-train + adapter-minilm extras
    .venv/bin/python -m bench.adapter_quality --pairs e5:minilm

Embeddings are cached under ``.cache/embeddings`` in shards keyed by their texts, so
an interrupted run loses one shard and a rerun embeds nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np

from vex_dagster.adapter.fit import FITTERS, LinearMap, fit, mean_cosine, normalise
from vex_dagster.corpus import adapter_corpus
from vex_dagster.embed.offline import E5, ENCODERS, GLOVE, MINILM

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "embeddings"
HELD_OUT = 800
#: training passages used, of about 25,900 available: e5 on 2 shared cores embeds
#: about 6 passages/s, so the corpus is capped at the largest size measured
MAX_TRAIN = 20_000
SHARD = 1024
TRAIN_SIZES = (1000, 5000, MAX_TRAIN)
SHORT = {"e5": E5, "glove": GLOVE, "minilm": MINILM}
PAIRS = [(E5, GLOVE), (GLOVE, E5), (E5, MINILM), (MINILM, E5), (MINILM, GLOVE), (GLOVE, MINILM)]
FILE_APPLY_RECORDS = 20_000


def parse_pairs(names: list[str] | None) -> list[tuple[str, str]]:
    """``["e5:minilm", ...]`` -> model pairs; none given: every shipped pair."""
    if not names:
        return PAIRS
    try:
        return [tuple(SHORT[n] for n in name.split(":", 1)) for name in names]
    except KeyError as exc:
        raise SystemExit(f"unknown model {exc}; short names: {', '.join(SHORT)}") from None


def split_corpus() -> tuple[list[str], list[str], list[str]]:
    """(training texts, held-out query halves, held-out document halves)."""
    texts = adapter_corpus()
    order = np.random.default_rng(42).permutation(len(texts))
    texts = [texts[i] for i in order]
    held, train = texts[:HELD_OUT], texts[HELD_OUT : HELD_OUT + MAX_TRAIN]
    queries, documents = [], []
    for text in held:
        words = text.split()
        cut = max(1, len(words) // 2)
        queries.append(" ".join(words[:cut]))
        documents.append(" ".join(words[cut:]) or text)
    return train, queries, documents


def embeddings(model: str, texts: list[str]) -> np.ndarray:
    """``texts`` embedded with ``model``, from the shard cache where possible."""
    folder = CACHE / model.replace("/", "--")
    folder.mkdir(parents=True, exist_ok=True)
    encode = ENCODERS[model]
    parts = []
    for start in range(0, len(texts), SHARD):
        chunk = texts[start : start + SHARD]
        path = folder / f"{hashlib.sha256(chr(0).join(chunk).encode()).hexdigest()[:20]}.npy"
        if not path.exists():
            vectors = np.concatenate([encode(chunk[i : i + 64]) for i in range(0, len(chunk), 64)])
            partial = path.with_suffix(".part.npy")
            np.save(partial, vectors)
            partial.rename(path)
        parts.append(np.load(path))
    return np.concatenate(parts)


def recall_at_10(documents: np.ndarray, queries: np.ndarray) -> float:
    scores = normalise(queries) @ normalise(documents).T
    top = np.argsort(-scores, axis=1)[:, :10]
    return float(np.mean([i in row for i, row in enumerate(top)]))


def matrix_rate(adapter: LinearMap, dims_in: int, rows: int = 100_000) -> float:
    """Vectors/s of the translation alone, on batches of 4,096 as ``adapt_file`` uses."""
    batch = normalise(np.random.default_rng(0).standard_normal((4096, dims_in)))
    started = time.perf_counter()
    for _ in range(rows // len(batch)):
        adapter.apply(batch)
    return (rows // len(batch)) * len(batch) / (time.perf_counter() - started)


def file_rate(adapter: LinearMap, method: str, source: str, target: str, vectors: np.ndarray) -> float:
    """Records/s of ``adapt_file``: read a vmig file, translate, write a new one."""
    from vex_dagster.adapter.apply import adapt_file
    from vex_dagster.adapter.registry import Card, save
    from vex_dagster.vmig import Record, VmigWriter

    with tempfile.TemporaryDirectory() as work:
        save(adapter, Card(source, target, vectors.shape[1], adapter.weight.shape[1], method, 0, {}), work)
        path = Path(work) / "in.vmig.jsonl"
        with VmigWriter(path, metric="cosine") as writer:
            for i in range(FILE_APPLY_RECORDS):
                writer.write(Record(id=f"r{i}", vector=vectors[i % len(vectors)], model=source))
        result = adapt_file(path, Path(work) / "out.vmig.jsonl", from_model=source, to_model=target,
                            registry_dir=work)
    return result.records / result.seconds


def evaluate(source: str, target: str, train_sizes=TRAIN_SIZES) -> list[dict]:
    train, queries, documents = split_corpus()
    x_train, y_train = embeddings(source, train), embeddings(target, train)
    docs_a, docs_b = embeddings(source, documents), embeddings(target, documents)
    queries_b = embeddings(target, queries)
    ceiling = recall_at_10(docs_b, queries_b)
    base = {"from": source, "to": target, "recall_reembed": ceiling}
    rows = []
    if docs_a.shape[1] == docs_b.shape[1]:
        kept = recall_at_10(docs_a, queries_b)
        rows.append({**base, "pairs": 0, "method": "none (kept as is)", "recall_adapted": kept,
                     "retention": kept / ceiling, "mean_cosine": mean_cosine(docs_a, docs_b)})
    for size in sorted({min(s, len(train)) for s in train_sizes}):
        adapter, scores = fit(x_train[:size], y_train[:size])
        translated = adapter.apply(docs_a)
        adapted = recall_at_10(translated, queries_b)
        rows.append({**base, "pairs": size, "method": adapter.method, "recall_adapted": adapted,
                     "retention": adapted / ceiling, "mean_cosine": mean_cosine(translated, docs_b),
                     "heldout": scores})
    rows[-1]["matrix_rate"] = matrix_rate(adapter, docs_a.shape[1])
    rows[-1]["file_rate"] = file_rate(adapter, adapter.method, source, target, docs_a)
    if len(rows[-1]["heldout"]) > 1:  # every candidate at full size: what the held-out choice gave up
        x, y = normalise(x_train), normalise(y_train)
        rows[-1]["by_method"] = {m: recall_at_10(FITTERS[m](x, y).apply(docs_a), queries_b) / ceiling
                                 for m in rows[-1]["heldout"]}
    return rows


def row_markdown(r: dict) -> str:
    rates = (f"{r['matrix_rate']:,.0f} | {r['file_rate']:,.0f}" if "matrix_rate" in r else " | ")
    pairs = f"{r['pairs']:,}" if r["pairs"] else "—"
    return (f"| {r['from']} | {r['to']} | {pairs} | {r['method']} | {r['recall_adapted']:.3f} | "
            f"{r['recall_reembed']:.3f} | {r['retention']:.1%} | {r['mean_cosine']:.3f} | {rates} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="*", metavar="A:B",
                        help=f"pairs to measure, short names {', '.join(SHORT)} (default: all shipped)")
    args = parser.parse_args()
    pairs = parse_pairs(args.pairs)
    print("| from | to | training pairs | method | recall@10 adapted | recall@10 re-embed | retention "
          "| mean cosine | apply vectors/s (matrix) | apply records/s (file) |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
    notes = []
    for source, target in pairs:
        for r in evaluate(source, target):
            print(row_markdown(r), flush=True)
            if "by_method" in r:
                notes.append(f"{source} -> {target} at {r['pairs']:,} pairs, retention by method: " + ", ".join(
                    f"{m} {v:.1%} (held-out cosine {r['heldout'][m]:.3f})" for m, v in r["by_method"].items()))
    print("\n".join(["", *notes]))


if __name__ == "__main__":
    main()
