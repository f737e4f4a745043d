"""Streaming reader and writer for `.vmig.jsonl` (and `.vmig.jsonl.gz`).

Both hold one line at a time, so memory is flat whatever the file size. The writer
writes under a temporary name and renames onto the final name only when the data
is complete, then writes the sidecar: an interrupted export never leaves a half
file that looks whole.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from vex_dagster.vmig.sink import HashingSink
from vex_dagster.vmig.files import is_gzip, open_binary, remove_stale_temporaries, temporary_path
from vex_dagster.vmig.meta import Meta, write_meta
from vex_dagster.vmig.record import Record, RecordError, record_from_dict

_WRITE_BUFFER = 1 << 20
#: Lines are joined into buffers of about this size for the hashing and writing thread.
_CHUNK_BYTES = 1 << 20


class VmigReadError(ValueError):
    """A record that cannot be read, located by file, line and field."""

    def __init__(self, path: str | Path, line: int, message: str, field: str | None = None):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = f"{Path(path).name}:{line}"
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")

    def __reduce__(self):  # raised again in the parent when a child process parses
        return type(self), (self.path, self.line, self.message, self.field)


def iter_lines(fh, path: str | Path = "<stream>") -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line_number, line_without_LF, terminated)`` for each line.

    ``terminated`` is False only for a last line with no LF - a truncated file.
    """
    number = 0
    for number, raw in enumerate(fh, start=1):
        if raw.endswith(b"\n"):
            yield number, raw[:-1], True
        else:
            yield number, raw, False


def decode_json(line: bytes) -> Any:
    """Parse one line with orjson; NaN, Infinity and 1e999 are not JSON, so orjson
    rejects them - the stdlib parser accepts them, letting the finite-number rules
    name the field instead of calling the line unreadable."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise exc from None


def parse_line(path: str | Path, number: int, line: bytes, terminated: bool) -> Record:
    """One line to a Record, with errors that say where and what."""
    if not terminated:
        raise VmigReadError(path, number, "the last line has no LF: the file is truncated")
    if not line.strip():
        raise VmigReadError(path, number, "blank line (vmig allows none)")
    try:
        obj = decode_json(line)
    except orjson.JSONDecodeError as exc:
        raise VmigReadError(path, number, f"not valid JSON ({exc})") from None
    try:
        return record_from_dict(obj)
    except RecordError as exc:
        raise VmigReadError(path, number, str(exc), exc.field) from None


class VmigReader:
    """Iterate the records of a vmig file; ``skip`` passes over already-imported lines."""

    def __init__(self, path: str | Path, skip: int = 0):
        self.path = Path(path)
        self.skip = skip

    def __iter__(self) -> Iterator[Record]:
        with open_binary(self.path) as fh:
            for number, raw in enumerate(islice(fh, self.skip, None), start=self.skip + 1):
                terminated = raw.endswith(b"\n")
                yield parse_line(self.path, number, raw[:-1] if terminated else raw, terminated)

    def batches(self, size: int) -> Iterator[list[Record]]:
        records = iter(self)
        while batch := list(islice(records, size)):
            yield batch


def read_records(path: str | Path) -> Iterator[Record]:
    return iter(VmigReader(path))


class VmigWriter:
    """Write records to ``path``; ``close()`` publishes the file and its sidecar.

    Used as a context manager, an exception discards the temporary file so the
    final name never holds a partial export.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        source_store: str | None = None,
        source: dict[str, Any] | None = None,
        metric: str | None = None,
        extra_meta: dict[str, Any] | None = None,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.path)
        self._tmp = temporary_path(self.path)
        # compression follows the final name: the temporary name does not end in .gz
        self._fh = gzip.open(self._tmp, "wb", compresslevel=6) if is_gzip(path) else open(
            self._tmp, "wb", buffering=_WRITE_BUFFER
        )
        self._sink = HashingSink(self._fh)
        self._lines: list[bytes] = []  # serialised, not yet handed to the sink
        self._lines_bytes = 0
        self._meta_fields = dict(source_store=source_store, source=source or {}, metric=metric)
        self._extra_meta = extra_meta or {}
        self.count = 0
        self.namespaces: Counter[str] = Counter()
        self._dims: set[int | None] = set()
        self._models: set[str | None] = set()
        self.meta: Meta | None = None

    def write(self, record: Record) -> None:
        line = record.to_line()
        self._lines.append(line)
        self._lines_bytes += len(line)
        if self._lines_bytes >= _CHUNK_BYTES:
            self._hand_over()
        self.count += 1
        self.namespaces[record.namespace or ""] += 1
        if record.vector is not None:
            self._dims.add(record.dims)
        self._models.add(record.model)

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def _hand_over(self) -> None:
        self._sink.put(b"".join(self._lines))
        self._lines, self._lines_bytes = [], 0

    def close(self) -> Meta:
        """Flush, rename onto the final name, then write the sidecar."""
        if self._lines:
            self._hand_over()
        checksum = self._sink.close()
        self._fh.flush()
        if hasattr(self._fh, "fileno"):
            os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, self.path)
        self.meta = Meta(
            record_count=self.count,
            checksum=checksum,
            dims=next(iter(self._dims)) if len(self._dims) == 1 else None,
            model=next(iter(self._models)) if len(self._models) == 1 else None,
            namespaces=dict(sorted(self.namespaces.items())),
            extra=self._extra_meta,
            **self._meta_fields,
        )
        write_meta(self.path, self.meta)
        return self.meta

    def abort(self) -> None:
        """Drop the partial file; closing may fail again (a full disk flushes its buffer)."""
        self._sink.abandon()
        try:
            self._fh.close()
        except OSError:
            pass
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VmigWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
