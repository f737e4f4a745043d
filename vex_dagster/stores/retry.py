"""Bounded retries with exponential backoff and full jitter, for transient failures.

Connectors wrap each remote call (one batch) in ``retry_call`` with a predicate
saying which errors are transient for their client: HTTP 429 and 5xx, connection
resets, timeouts. Anything else fails at once, so a bad request is never retried.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("vex.retry")

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_transient_status(status: int | None) -> bool:
    return status in TRANSIENT_STATUS


def is_connection_error(exc: BaseException) -> bool:
    """Resets, refusals and timeouts, from the stdlib or httpx/urllib3 alike."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    name = type(exc).__name__
    return any(word in name for word in ("Connect", "Timeout", "RemoteProtocol", "ReadError"))


def retry_call(
    fn: Callable[[], T], *, is_transient: Callable[[BaseException], bool], what: str,
    attempts: int = 6, base_delay: float = 0.5, max_delay: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; on a transient error wait ``uniform(0, min(max, base*2^n))`` and retry.

    After ``attempts`` tries the last error is raised, so a dead server fails the
    run (with its checkpoint intact) instead of hanging it.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - the predicate decides
            if attempt == attempts or not is_transient(exc):
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))
            log.warning("%s failed (%s: %s); retry %d/%d in %.1f s",
                        what, type(exc).__name__, exc, attempt, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")
