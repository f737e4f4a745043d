"""File naming and opening rules shared by the reader, writer and sidecar."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import IO

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


def temporary_path(final: str | Path) -> Path:
    """A sibling name for writing before an atomic rename onto ``final``."""
    final = Path(final)
    return final.with_name(f".{final.name}.{os.getpid()}.part")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write a small file so that readers see either the old or the new one."""
    tmp = temporary_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
