import os

import pytest

from tests.backends.base import Backend
from vex_dagster.stores.qdrant import QdrantStore


@pytest.fixture(scope="session")
def qdrant_backend(tmp_path_factory):
    """Qdrant local mode; a real server instead when VEX_TEST_QDRANT_URL is set.

    Qdrant normalises vectors in cosine collections, so vectors are compared by
    direction (cosine >= 0.99999), not bit for bit.
    """
    url = os.environ.get("VEX_TEST_QDRANT_URL")
    if url:
        return Backend("qdrant", lambda: QdrantStore(url=url, api_key=os.environ.get("VEX_TEST_QDRANT_API_KEY")),
                       exact_vectors=False)
    path = str(tmp_path_factory.mktemp("qdrant"))
    return Backend("qdrant", lambda: QdrantStore(path=path), exact_vectors=False)
