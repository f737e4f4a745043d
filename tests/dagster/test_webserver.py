"""End to end: dagster-webserver serves the code location, headless Chromium renders the
asset graph, and a screenshot is kept under test-output/ for a person to look at."""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests.dagster.conftest import discover, run_partition
from tests.servers import free_port, http_ok, running
from vex_dagster.definitions import build_definitions
from vex_dagster.migrations import DEFAULT_PATH

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1600,1000", "--virtual-time-budget=20000"]

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


INSTANCE_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"


@pytest.fixture
def migrated_home(tmp_path, data_dir):
    """A temporary DAGSTER_HOME in which the demo migration ran, every namespace."""
    home = tmp_path / "dagster-home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    defs = build_definitions(DEFAULT_PATH)
    with dg.instance_for_test(temp_dir=str(home), overrides=yaml.safe_load(INSTANCE_YAML)) as instance:
        for key in discover(defs, instance, "pydocs_demo"):
            assert run_partition(defs, instance, "pydocs_demo", key).success
    return home


@pytest.fixture
def webserver(tmp_path, migrated_home, data_dir):
    """dagster-webserver on a free loopback port, over the migrated temporary DAGSTER_HOME."""
    env = {**os.environ, "DAGSTER_HOME": str(migrated_home), "VEX_DATA_DIR": str(data_dir)}
    env.pop("VEX_MIGRATIONS", None)
    port = free_port()
    command = [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml",
               "-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running(command, http_ok(f"{url}/server_info"), name="dagster-webserver", log=tmp_path / "webserver.log",
                 timeout=180, env=env, cwd=ROOT):
        yield url


def _chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, timeout=180)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_webserver_renders_the_demo_asset_graph(webserver, tmp_path, output_dir):
    data = _graphql(webserver, "{ assetNodes { assetKey { path } groupName } }")
    keys = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
    assert {"pydocs_demo/export", "pydocs_demo/import"} <= keys
    location = _graphql(webserver, "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }")
    name = location["workspaceOrError"]["locationEntries"][0]["name"]
    page = f"{webserver}/locations/{name}/asset-groups/pydocs_demo/lineage"

    dom = _chromium("--dump-dom", page, tmp_path=tmp_path).stdout.decode(errors="replace")
    assert "export" in dom and "import" in dom, dom[-2000:]
    assert "Join the Dagster community" not in dom

    screenshot = output_dir / "dagster-asset-graph.png"
    screenshot.unlink(missing_ok=True)
    _chromium(f"--screenshot={screenshot}", page, tmp_path=tmp_path)
    assert screenshot.exists() and screenshot.stat().st_size > 20_000
