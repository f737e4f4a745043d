"""Batches of records from a helper process on the other core to this one.

Parsing a vmig line costs about as much as a store's bulk write of it. In one
process the two add up, and a thread cannot overlap them because both hold the
GIL; a child process can.

The child is forked (a few milliseconds, against ~0.1 s to start an interpreter and
import numpy, which is a third of a 10k-record import). It runs only our own code -
file reads, orjson, numpy, pickle, pipe writes - never a lock another thread of the
parent could hold (logging, gRPC, database drivers), and leaves with ``os._exit``
so none of the parent's exit handlers or buffers run twice. (Python 3.12+ warns,
as a DeprecationWarning, when a process with threads forks - a Dagster step has
some; the warning is about such locks, which this child never takes.)

A batch travels as columns (a list per field, the vectors as one float32 matrix
when they share a length): pickling that costs ~1.3 us per record each way,
against ~4 us for a list of Record objects. The pipe's buffer (1 MB at most) is
the back-pressure: the child runs at most about a batch ahead, so memory stays
flat.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from collections.abc import Callable
from dataclasses import fields
from typing import IO, Any

import numpy as np

from vex_dagster.vmig.record import Record

_FIELDS = tuple(f.name for f in fields(Record))  # constructor order; "vector" is second

#: Whether this platform can fork (not Windows); without it work stays in one process.
CAN_FORK = hasattr(os, "fork")


class ChildGone(RuntimeError):
    """The helper process ended without saying why (killed, out of memory)."""


def pack(batch: list[Record]) -> list:
    columns: list[Any] = [[getattr(r, name) for r in batch] for name in _FIELDS]
    vectors = columns[1]
    if vectors and all(v is not None for v in vectors) and len({v.shape for v in vectors}) == 1:
        columns[1] = np.stack(vectors)  # one buffer instead of a pickle per array
    return columns


def unpack(columns: list) -> list[Record]:
    """Records whose vectors are rows of the batch's matrix (views, no copy)."""
    return [Record(*values) for values in zip(*columns)]


def send(pipe: IO[bytes], kind: str, payload: Any = None) -> None:
    pickle.dump((kind, payload), pipe, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.flush()


def send_error(pipe: IO[bytes], exc: BaseException) -> None:
    """Forward an exception to be raised on the other side; if it cannot be
    pickled, its type and message still go."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    send(pipe, "error", exc)


class Child:
    """A forked process running ``work(to_parent)``; ``receive`` reads what it sends."""

    def __init__(self, work: Callable[[IO[bytes]], None], what: str):
        self.what = what
        read, write = _pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(read)
            _run_child(work, write)
        os.close(write)
        self.from_child = open(read, "rb")
        self._exit_code: int | None = None

    def receive(self) -> tuple[str, Any]:
        try:
            return pickle.load(self.from_child)
        except EOFError:
            raise ChildGone(f"the process {self.what} exited (code {self.wait()}) before finishing") from None

    def wait(self) -> int:
        if self._exit_code is None:
            self._exit_code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self._exit_code

    def stop(self) -> None:
        """Close our end and make sure the child is gone (it may be blocked on the pipe)."""
        self.from_child.close()
        if self._exit_code is None:
            os.kill(self.pid, signal.SIGKILL)  # a zombie until waited for, so never another process
            self.wait()


def _pipe() -> tuple[int, int]:
    """A pipe holding up to 1 MB where Linux allows (its default maximum for any
    user): with the default 64 KB, moving a 1.6 MB batch took 3.4 ms of hand-offs
    between the two processes instead of 1.3 ms."""
    import fcntl  # POSIX only, as is fork

    read, write = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError:  # over the user's pipe-buffer quota: the default size still works
            pass
    return read, write


def _run_child(work, write: int) -> None:
    """The child's whole life. Ctrl-C reaches the whole process group: the child
    leaves it to the parent, which stops it. A parent that is gone closes the pipe,
    and the child's next write ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = 0
    try:
        with open(write, "wb") as to_parent:
            work(to_parent)
    except BrokenPipeError:
        code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)
