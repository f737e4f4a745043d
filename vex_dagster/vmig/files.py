"""File naming and opening rules shared by the reader, writer and sidecar."""

from __future__ import annotations

import glob
import gzip
import os
import socket
from pathlib import Path
from typing import IO

from vex_dagster.processes import pid_alive

DATA_SUFFIX = ".vmig.jsonl"
META_SUFFIX = ".vmig.meta.json"


def is_gzip(path: str | Path) -> bool:
    return str(path).endswith(".gz")


def open_binary(path: str | Path, mode: str = "rb") -> IO[bytes]:
    """Open a data file for reading, transparently gunzipping ``.gz`` names."""
    return gzip.open(path, mode) if is_gzip(path) else open(path, mode)


def stem(path: str | Path) -> Path:
    """``dir/docs.vmig.jsonl.gz`` -> ``dir/docs``."""
    path = Path(path)
    name = path.name
    for suffix in (".gz", ".jsonl", ".vmig", ".json", ".meta"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return path.with_name(name)


def meta_path(data_path: str | Path) -> Path:
    """The sidecar that belongs to a data file."""
    return stem(data_path).with_name(stem(data_path).name + META_SUFFIX)


def checkpoint_path(data_path: str | Path) -> Path:
    """Where an import of ``data_path`` records its last committed batch."""
    return stem(data_path).with_name(stem(data_path).name + ".vmig.checkpoint.json")


def _writer_tag() -> str:
    """Who writes a temporary: host and pid (a data dir may be shared between machines)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def temporary_path(final: str | Path) -> Path:
    """A sibling name for writing before an atomic rename onto ``final``."""
    final = Path(final)
    return final.with_name(f".{final.name}.{_writer_tag()}.part")


def remove_stale_temporaries(final: str | Path) -> list[Path]:
    """Delete temporaries of ``final`` whose writer, on this host, is gone.

    A writer killed with SIGKILL cannot remove its temporary; at 1M records that is
    gigabytes per kill, so the next writer of the same file clears them. Temporaries
    of live processes and of other hosts are left alone.
    """
    final = Path(final)
    host_prefix = f".{final.name}.{socket.gethostname()}-"
    removed = []
    for tmp in final.parent.glob(f".{glob.escape(final.name)}.*.part"):
        pid = tmp.name[len(host_prefix):-len(".part")] if tmp.name.startswith(host_prefix) else ""
        if pid.isdigit() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write a small file so that readers see either the old or the new one."""
    tmp = temporary_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
