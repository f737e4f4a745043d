"""Start real servers for tests on free loopback ports, and stop what we started."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ok(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status < 500
        except OSError:
            return False

    return ready


@contextlib.contextmanager
def running(command: list[str], ready: Callable[[], bool], *, name: str, log: Path,
            timeout: float = 90, env: dict | None = None, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """Run ``command`` until ``ready()``; fail with its log if it dies or times out."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} did not come up ({' '.join(command)}):\n{tail}")
            time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
