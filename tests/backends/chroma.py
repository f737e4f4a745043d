import os
import sys
from pathlib import Path

import pytest

from tests.backends.base import Backend
from tests.servers import free_port, http_ok, running
from vex_dagster.stores.chroma import ChromaStore

CHROMA = str(Path(sys.executable).with_name("chroma"))


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """The real Chroma server from the chromadb wheel (`chroma run`), on a free port."""
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    command = [CHROMA, "run", "--path", str(root / "data"), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, http_ok(f"http://127.0.0.1:{port}/api/v2/heartbeat"), name="chroma server",
                 log=root / "chroma.log", env=env) as process:
        yield {"url": f"http://127.0.0.1:{port}", "process": process, "command": command, "env": env,
               "log": root / "chroma.log"}


@pytest.fixture(scope="session")
def chroma_backend(chroma_server):
    """Chroma moves some float32 components by one ulp on the way in (seen with this
    version, in any metric), so vectors are compared by cosine, not bit for bit."""
    return Backend("chroma", lambda: ChromaStore(url=chroma_server["url"]), exact_vectors=False)
