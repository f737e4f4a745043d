import pytest

from tests.backends.base import Backend
from vex_dagster.stores.pinecone import PineconeStore
from vex_dagster.testing.pinecone_emulator import PineconeEmulator


@pytest.fixture(scope="session")
def pinecone_emulator():
    """Pinecone's REST API, emulated in-process on loopback (no Pinecone server can run here)."""
    with PineconeEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def pinecone_backend(pinecone_emulator):
    """Texts over Pinecone's 40 KB of metadata are truncated (--oversize truncate): the
    matrix asserts that loss on the 46 KB fixture text instead of comparing it."""
    return Backend("pinecone", lambda: PineconeStore(api_key="test-key", controller_host=pinecone_emulator.url,
                                                     oversize="truncate"),
                   losses={"text": "texts over 40 KB of metadata are truncated"})
