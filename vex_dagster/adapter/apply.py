"""Apply an adapter to a vmig file, streaming: a new file in the target model's space."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vex_dagster.adapter.registry import load
from vex_dagster.progress import NoProgress, Progress
from vex_dagster.vmig import Meta, VmigReader, VmigWriter, read_meta
from vex_dagster.vmig.files import meta_path


@dataclass
class AdaptResult:
    records: int
    seconds: float
    meta: Meta
    without_vector: int = 0  # text-only records, passed through for re-embedding


def adapt_file(in_path: str | Path, out_path: str | Path, *, from_model: str, to_model: str,
               registry_dir: str | Path | None = None, progress: Progress | None = None,
               batch_size: int = 4096) -> AdaptResult:
    """Translate every vector of ``in_path`` from ``from_model`` to ``to_model``.

    Vectors come out float32 and L2-normalised; ``model`` and ``dims`` follow, and
    the meta notes the adapter. Records in another model than ``from_model`` are
    refused: translating them would write wrong vectors.
    """
    progress = progress or NoProgress()
    adapter, card = load(from_model, to_model, registry_dir)
    started = time.perf_counter()
    source_meta = read_meta(in_path) if meta_path(in_path).exists() else None
    progress.start(f"adapt {from_model} -> {to_model}", source_meta.record_count if source_meta else None)
    without_vector = 0
    writer = VmigWriter(out_path, source_store=source_meta.source_store if source_meta else None,
                        source=source_meta.source if source_meta else {}, metric="cosine",
                        extra_meta={"adapter": {"from_model": from_model, "to_model": to_model,
                                                "method": card.method, "training_pairs": card.training_pairs}})
    with writer:
        for batch in VmigReader(in_path).batches(batch_size):
            with_vectors = [r for r in batch if r.vector is not None]
            for record in with_vectors:
                if record.model not in (None, from_model):
                    raise ValueError(f"record {record.id!r} was embedded with {record.model!r}, "
                                     f"not {from_model!r}; choose the adapter for its model")
            if with_vectors:
                mapped = adapter.apply(np.stack([r.vector for r in with_vectors]))
                for record, vector in zip(with_vectors, mapped):
                    record.vector, record.model = vector, to_model
            without_vector += len(batch) - len(with_vectors)
            writer.write_all(batch)
            progress.advance(len(batch))
    progress.stop()
    return AdaptResult(writer.count, time.perf_counter() - started, writer.meta, without_vector)
