"""Hash and write a vmig file's bytes on a thread, while the caller serialises the next lines.

SHA-256 and file writes release the GIL for large buffers, so a batch's lines,
joined into one buffer, are hashed and written on the other core: at 384-d that
is a quarter of a writer's CPU time taken off its path. Errors (a full disk) are
raised to the caller at its next ``put`` or at ``close``.
"""

from __future__ import annotations

import queue
import threading
from typing import IO

from vex_dagster.vmig.checksum import LineHasher

#: Joined batches that may wait for the thread; bounds the memory held.
_QUEUED = 2


class HashingSink:
    def __init__(self, fh: IO[bytes]):
        self._fh = fh
        self._hasher = LineHasher()
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
        self._error: BaseException | None = None
        # started by the first put, not in a writer's __init__, where a Ctrl-C would
        # leave a temporary file that nobody removes
        self._thread: threading.Thread | None = None

    def put(self, lines: bytes) -> None:
        """Queue LF-terminated lines; raises the error of an earlier write."""
        self._raise_error()
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name="vex vmig writer", daemon=True)
            self._thread.start()
        self._chunks.put(lines)

    def close(self) -> str:
        """Wait until everything is written; the checksum of all lines put."""
        self._stop()
        self._raise_error()
        return self._hasher.hexdigest()

    def abandon(self) -> None:
        """Stop the thread; what it failed on no longer matters."""
        self._stop()

    def _stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _drain(self) -> None:
        """After a failed write, keep taking chunks (and drop them) so ``put`` never blocks."""
        while (lines := self._chunks.get()) is not None:
            if self._error is not None:
                continue
            try:
                self._hasher.add(memoryview(lines)[:-1])
                self._fh.write(lines)
            except BaseException as exc:
                self._error = exc
