"""Export, import and migrate: the one code path behind the CLI and the Dagster assets.

Everything streams batch by batch; nothing holds a collection in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from vex_dagster.checkpoint import Checkpoint
from vex_dagster.progress import NoProgress, Progress
from vex_dagster.stores.base import Store
from vex_dagster.vmig import Meta, MetaError, VmigReader, VmigWriter, file_checksum, read_meta
from vex_dagster.vmig.files import meta_path
from vex_dagster.vmig.parse_worker import ParsedBatches


class VerifyError(ValueError):
    """The file is corrupt, truncated or unverifiable; nothing was written."""


@dataclass
class TransferResult:
    records: int
    seconds: float
    path: Path
    meta: Meta | None = None
    resumed_from: int = 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("inf")

    def summary(self, verb: str, what: str) -> str:
        resumed = f" (resumed after {self.resumed_from:,})" if self.resumed_from else ""
        return (f"{verb} {self.records:,} records {what} in {self.seconds:.2f} s "
                f"({self.rate:,.0f} records/s){resumed}")


def verify_file(path: str | Path) -> Meta:
    """Check a file against its sidecar before anything is written from it."""
    path = Path(path)
    meta = _sidecar(path)
    check_digest(path, meta)
    return meta


def _sidecar(path: Path) -> Meta:
    try:
        return read_meta(path)
    except MetaError as exc:
        raise VerifyError(f"cannot verify {path.name}: {exc} (pass --no-verify to import anyway)") from exc


def check_digest(path: Path, meta: Meta) -> None:
    """The file's checksum and line count against its sidecar's."""
    digest = file_checksum(path)
    if not digest.terminated:
        raise VerifyError(f"{path.name} is truncated: its last line (line {digest.lines}) has no LF")
    if digest.checksum != meta.checksum:
        raise VerifyError(f"{path.name} is corrupt: checksum {digest.checksum} does not match "
                          f"{meta.checksum} in {meta_path(path).name}")
    if digest.lines != meta.record_count:
        raise VerifyError(f"{path.name} has {digest.lines} lines but its meta file says "
                          f"{meta.record_count} records")


def export_collection(
    store: Store, collection: str, out_path: str | Path, *, namespaces: Iterable[str] | None = None,
    batch_size: int = 1000, progress: Progress | None = None,
) -> TransferResult:
    """Stream a collection (or some namespaces of it) into a vmig file plus sidecar."""
    progress = progress or NoProgress()
    started = time.perf_counter()
    info = store.describe(collection)
    chosen = list(namespaces) if namespaces else [None]
    total = info.count if namespaces is None else sum(info.namespaces.get(n, 0) for n in chosen)
    progress.start(f"export {store.name}:{collection}", total)
    writer = VmigWriter(out_path, source_store=store.name, source=store.source_info(collection),
                        metric=info.metric)
    with writer:
        for namespace in chosen:
            for batch in store.iter_batches(collection, namespace, batch_size):
                writer.write_all(batch)
                progress.advance(len(batch))
    progress.stop()
    return TransferResult(writer.count, time.perf_counter() - started, Path(out_path), writer.meta)


def _first_dims(path: Path) -> int | None:
    return next((r.dims for r in VmigReader(path) if r.vector is not None), None)


def import_file(
    store: Store, collection: str, in_path: str | Path, *, batch_size: int = 1000, verify: bool = True,
    create: bool = True, resume: bool = False, progress: Progress | None = None,
    metric: str | None = None,
) -> TransferResult:
    """Load a vmig file into ``collection``, checkpointing after every batch.

    With ``verify`` the file must match its sidecar first; a dims mismatch with an
    existing collection is refused before the first write. ``metric`` chooses the
    metric of a collection created here (default: the file's, else cosine).
    """
    progress = progress or NoProgress()
    in_path = Path(in_path)
    started = time.perf_counter()
    if verify:
        meta = _sidecar(in_path)
    else:
        meta = read_meta(in_path) if meta_path(in_path).exists() else None
    checksum = meta.checksum if meta else file_checksum(in_path).checksum
    if resume:
        checkpoint = Checkpoint.resume_from(in_path, store.name, collection, checksum)
    else:
        checkpoint = Checkpoint(store.name, collection, checksum)
    resumed_from = checkpoint.records_done
    with ParsedBatches(in_path, batch_size, skip=resumed_from) as batches:  # parsing starts on another core
        if verify:
            check_digest(in_path, meta)  # ... while this one reads the whole file for its checksum
        dims = meta.dims if meta and meta.dims else _first_dims(in_path)
        metric = metric or (meta.metric if meta else None) or "cosine"
        store.open_collection(collection, dims, metric, create)
        progress.start(f"import {store.name}:{collection}", meta.record_count if meta else None)
        progress.advance(resumed_from)
        for batch in batches:
            store.write_batch(collection, batch)
            checkpoint.records_done += len(batch)
            checkpoint.save(in_path)
            progress.advance(len(batch))
    store.finish(collection)
    Checkpoint.clear(in_path)
    progress.stop()
    return TransferResult(checkpoint.records_done - resumed_from, time.perf_counter() - started,
                          in_path, meta, resumed_from)


def migrate(
    source: Store, target: Store, collection: str, *, target_collection: str | None = None,
    namespaces: Iterable[str] | None = None, workdir: str | Path = ".", keep_file: bool = True,
    batch_size: int = 1000, resume: bool = False, progress: Progress | None = None,
    transform: Callable[[Path], Path] | None = None,
) -> tuple[TransferResult, TransferResult]:
    """Export to a local vmig file, verify it, import it; the file is the checkpoint.

    ``transform`` turns the exported file into the file to import (a drift adapter
    or a re-embedding writes a new vmig file). With ``resume`` a complete
    intermediate file (its sidecar exists) is reused and the import continues from
    its checkpoint.
    """
    path = Path(workdir) / f"{source.name}-{collection}.vmig.jsonl"
    if resume and meta_path(path).exists() and path.exists():
        meta = read_meta(path)
        exported = TransferResult(meta.record_count, 0.0, path, meta)
    else:
        exported = export_collection(source, collection, path, namespaces=namespaces,
                                     batch_size=batch_size, progress=progress)
    to_import = transform(path) if transform else path
    imported = import_file(target, target_collection or collection, to_import, batch_size=batch_size,
                           resume=resume, progress=progress)
    if not keep_file:
        for done in {path, to_import}:
            done.unlink()
            meta_path(done).unlink(missing_ok=True)
    return exported, imported
