"""Shared fixtures. Every module in tests/backends/ is loaded as a plugin, so a new
store joins the round-trip matrix by adding one file there."""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = sorted(p.stem for p in (Path(__file__).parent / "backends").glob("*.py")
                  if p.stem not in ("__init__", "base"))
pytest_plugins = [f"tests.backends.{name}" for name in BACKENDS]
#: backends that start a real server (deselected by -m "not server")
SERVER_BACKENDS = {"chroma", "pgvector"}


@pytest.fixture
def backend(request):
    """Indirect parametrisation: ``backend`` is the Backend named by the param."""
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture
def output_dir() -> Path:
    """A folder kept after the run (screenshots, reports) under test-output/."""
    path = Path(__file__).parent.parent / "test-output"
    path.mkdir(exist_ok=True)
    return path
