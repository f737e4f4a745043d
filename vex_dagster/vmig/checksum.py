"""The vmig checksum, exactly as the original Vex defines it.

SHA-256 over the record lines, each as its bytes stand in the file, joined by LF:
that is the file's bytes less its final LF, so anyone can check a file with
``head -c -1 F.vmig.jsonl | sha256sum``. For ``.gz`` files it is computed over the
uncompressed bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from vex_dagster.vmig.files import open_binary

PREFIX = "sha256:"
_CHUNK = 1 << 20


class LineHasher:
    """Feeds record lines (without their LF) into the checksum as they stream by."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._first = True

    def add(self, line: bytes) -> None:
        if self._first:
            self._first = False
        else:
            self._sha.update(b"\n")
        self._sha.update(line)

    def hexdigest(self) -> str:
        return PREFIX + self._sha.hexdigest()


@dataclass(frozen=True)
class FileDigest:
    checksum: str
    lines: int  # record lines, counting an unterminated last line
    terminated: bool  # False: the last line has no LF, the file was cut off


def file_checksum(path: str | Path) -> FileDigest:
    """Checksum and line count of a whole file, read in 1 MB chunks."""
    sha = hashlib.sha256()
    held = b""  # the last byte, held back until we know it is not the final LF
    newlines = 0
    with open_binary(path) as fh:
        while chunk := fh.read(_CHUNK):
            newlines += chunk.count(b"\n")
            sha.update(held)
            held, chunk = chunk[-1:], chunk[:-1]
            sha.update(chunk)
    terminated = held in (b"\n", b"")
    if not terminated:
        sha.update(held)
    return FileDigest(PREFIX + sha.hexdigest(), newlines + (not terminated), terminated)
