import pytest

from tests.backends.base import Backend
from vex_dagster.stores.vektor import VektorStore


@pytest.fixture(scope="session")
def vektor_backend(tmp_path_factory):
    path = tmp_path_factory.mktemp("vektor") / "matrix.db"
    return Backend("vektor", lambda: VektorStore(str(path)))
