"""The shipped code location loads as `dagster dev -w workspace.yaml` loads it."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_definitions_load_without_servers_variables_or_side_effects(demo_defs, data_dir):
    dg.Definitions.validate_loadable(demo_defs)
    graph = demo_defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {"pydocs_demo/export",
                                                                         "pydocs_demo/import"}
    assert len(graph.asset_check_keys) == 5
    assert {s.name for s in demo_defs.sensors} == {"pydocs_demo_discover_namespaces", "vex_inbox"}
    assert not data_dir.exists()  # loading wrote nothing: seeding waits for the sensor or a run


def test_dg_check_defs_accepts_the_project(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path),
           "VEX_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run([str(Path(sys.executable).with_name("dg")), "check", "defs"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
