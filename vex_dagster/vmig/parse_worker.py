"""Read a vmig file's batches with the parsing done in a child process.

An import then parses batch n+1 on one core while the store writes batch n on the
other, and the child starts parsing while the import still verifies the checksum.
Errors keep the plain reader's semantics: a bad line is raised here, after every
batch before it, with the same file, line and field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from vex_dagster.vmig import batch_pipe
from vex_dagster.vmig.io import VmigReader
from vex_dagster.vmig.record import Record

#: Below this, parsing is over too soon for a second core to matter.
WORKER_MIN_BYTES = 4 << 20


class ParsedBatches:
    """Batches of ``size`` records after the first ``skip``; ``in_worker`` None parses
    in a child when the file is large enough to gain from it. Use as a context
    manager: leaving it stops the child, wherever the iteration stood."""

    def __init__(self, path: str | Path, size: int, skip: int = 0, *, in_worker: bool | None = None):
        self.path, self.size, self.skip = Path(path), size, skip
        if in_worker is None:
            in_worker = batch_pipe.CAN_FORK and self.path.stat().st_size >= WORKER_MIN_BYTES
        self._child = batch_pipe.Child(self._serve, f"parsing {self.path.name}") if in_worker else None

    @property
    def child_pid(self) -> int | None:
        """The parsing process, or None when parsing here."""
        return None if self._child is None else self._child.pid

    def _serve(self, to_parent: IO[bytes]) -> None:
        """In the child: every batch, then "end" - or the error the plain reader would raise."""
        try:
            for batch in VmigReader(self.path, self.skip).batches(self.size):
                batch_pipe.send(to_parent, "batch", batch_pipe.pack(batch))
        except BrokenPipeError:
            raise
        except Exception as exc:
            batch_pipe.send_error(to_parent, exc)
            return
        batch_pipe.send(to_parent, "end")

    def __iter__(self) -> Iterator[list[Record]]:
        if self._child is None:
            yield from VmigReader(self.path, self.skip).batches(self.size)
            return
        while True:
            kind, payload = self._child.receive()
            if kind == "batch":
                yield batch_pipe.unpack(payload)
            elif kind == "error":
                raise payload
            else:
                return

    def close(self) -> None:
        if self._child is not None:
            self._child.stop()

    def __enter__(self) -> "ParsedBatches":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
