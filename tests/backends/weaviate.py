import pytest

from tests.backends.base import Backend
from vex_dagster.stores.weaviate import WeaviateStore
from vex_dagster.testing.weaviate_emulator import WeaviateEmulator


@pytest.fixture(scope="session")
def weaviate_emulator():
    """Weaviate's REST and gRPC APIs, emulated in-process on loopback (no Weaviate server can run here)."""
    with WeaviateEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def weaviate_backend(weaviate_emulator):
    return Backend("weaviate", lambda: WeaviateStore(url=weaviate_emulator.url, grpc_port=weaviate_emulator.grpc_port))
