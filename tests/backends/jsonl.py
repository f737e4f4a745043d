import pytest

from tests.backends.base import Backend
from vex_dagster.stores.jsonl import JsonlStore


@pytest.fixture(scope="session")
def jsonl_backend(tmp_path_factory):
    directory = tmp_path_factory.mktemp("jsonl")
    return Backend("jsonl", lambda: JsonlStore(str(directory)), import_adds_to_collection=False)
