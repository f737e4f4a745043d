"""Run the demo migration through Dagster on embedded stores, then break things and
watch each check fail."""

import sqlite3

import numpy as np
import pytest

import vex_dagster.assets.export as export_module
from tests.dagster.conftest import (
    SAMPLE, check_metadata, check_results, discover, materialized, run_checks, run_partition,
)
from vex_dagster.definitions import build_definitions
from vex_dagster.stores.vektor import VektorStore
from vex_dagster.vmig import Record, batch_pipe, parse_worker, read_meta

ALL_CHECKS = {"export_passes_vmig_lint", "export_checksum_matches", "target_count_matches_file",
              "vectors_match_file_on_sample", "search_results_match_source"}


def test_demo_migration_materialises_every_namespace_with_all_checks_green(demo_defs, instance, data_dir):
    keys = discover(demo_defs, instance, "pydocs_demo")
    assert keys == ["datamodel", "reference", "statements"]
    for key in keys:
        result = run_partition(demo_defs, instance, "pydocs_demo", key)
        assert result.success
        assert materialized(result) == {"pydocs_demo/export", "pydocs_demo/import"}
        assert check_results(result) == {name: True for name in ALL_CHECKS}
        assert check_metadata(result, "search_results_match_source")["recall@10"] == 1.0
    exports = data_dir / "pydocs_demo" / "export"
    counts = {p.name: read_meta(p).record_count for p in sorted(exports.glob("*.vmig.jsonl"))}
    assert counts == {"datamodel.vmig.jsonl": 127, "reference.vmig.jsonl": 389, "statements.vmig.jsonl": 84}
    with VektorStore(str(data_dir / "pydocs_demo" / "target.db")) as target:
        info = target.describe("pydocs")
    assert (info.count, info.dims, info.namespaces) == (600, 384, {"datamodel": 127, "reference": 389,
                                                                   "statements": 84})


def test_an_import_that_parses_in_a_forked_child_inside_a_run_passes_every_check(
        demo_defs, instance, data_dir, monkeypatch):
    """Files over 4 MB are parsed in a forked child; the demo's are smaller, so the
    threshold is lowered to fork inside a Dagster run (its threads and all)."""
    monkeypatch.setattr(parse_worker, "WORKER_MIN_BYTES", 0)
    forks = []
    real_child = batch_pipe.Child
    monkeypatch.setattr(batch_pipe, "Child", lambda *args: forks.append(args) or real_child(*args))
    discover(demo_defs, instance, "pydocs_demo")
    result = run_partition(demo_defs, instance, "pydocs_demo", "statements")
    assert result.success and forks
    assert check_results(result) == {name: True for name in ALL_CHECKS}
    with VektorStore(str(data_dir / "pydocs_demo" / "target.db")) as target:
        assert target.describe("pydocs").namespaces == {"statements": 84}


def test_export_reports_path_count_dims_model_checksum_and_preview(demo_defs, instance):
    discover(demo_defs, instance, "pydocs_demo")
    result = run_partition(demo_defs, instance, "pydocs_demo", "statements")
    event = next(e for e in result.get_asset_materialization_events()
                 if e.asset_key.to_user_string() == "pydocs_demo/export")
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    path = metadata["path"]
    assert path.endswith("pydocs_demo/export/statements.vmig.jsonl")
    assert metadata["records"] == 84 and metadata["dims"] == 384
    assert metadata["model"] == "intfloat/multilingual-e5-small"
    assert metadata["checksum"] == read_meta(path).checksum
    assert metadata["preview"].count("\n| ") == 5 and "statements" in metadata["preview"]


def test_corrupt_export_fails_the_blocking_checksum_check_and_the_import_never_runs(
        demo_defs, instance, data_dir, monkeypatch):
    real_export = export_module.export_collection

    def export_then_corrupt(store, collection, out_path, **kwargs):
        result = real_export(store, collection, out_path, **kwargs)
        data = bytearray(out_path.read_bytes())
        data[data.index(b'"vector":[') + 12] ^= 0x01  # one digit of one vector changes
        out_path.write_bytes(bytes(data))
        return result

    monkeypatch.setattr(export_module, "export_collection", export_then_corrupt)
    discover(demo_defs, instance, "pydocs_demo")
    result = run_partition(demo_defs, instance, "pydocs_demo", "statements")
    assert not result.success
    assert check_results(result)["export_checksum_matches"] is False
    assert materialized(result) == {"pydocs_demo/export"}
    assert not (data_dir / "pydocs_demo" / "target.db").exists()


def test_malformed_export_fails_the_lint_check_and_blocks_the_import(write_migrations, data_dir, instance):
    source_path = data_dir / "src.db"
    with VektorStore(str(source_path)) as source:
        bad = np.array([0.1, np.nan, 0.3], dtype=np.float32)  # exported as null: not a number
        good = np.array([0.1, 0.2, 0.3], dtype=np.float32)
        source.write_batches("docs", [[Record("a", good, text="fine"), Record("b", bad, text="broken")]],
                             dims=3)
    defs = build_definitions(write_migrations(f"""
migrations:
  - name: nan
    source: {{store: vektor, collection: docs, settings: {{path: {source_path}}}}}
    target: {{store: vektor, collection: docs, settings: {{path: target.db}}}}
"""))
    assert discover(defs, instance, "nan") == ["(default)"]
    result = run_partition(defs, instance, "nan", "(default)")
    assert check_results(result)["export_passes_vmig_lint"] is False
    assert check_results(result)["export_checksum_matches"] is True
    assert "line 2" in check_metadata(result, "export_passes_vmig_lint")["first_errors"]
    assert materialized(result) == {"nan/export"}


@pytest.fixture
def migrated(demo_defs, instance, data_dir):
    """The 'statements' namespace migrated, all green; returns the target db path."""
    discover(demo_defs, instance, "pydocs_demo")
    assert run_partition(demo_defs, instance, "pydocs_demo", "statements").success
    return data_dir / "pydocs_demo" / "target.db"


def _recheck(demo_defs, instance):
    result = run_checks(demo_defs, instance, ["pydocs_demo", "import"], "statements")
    assert materialized(result) == set()
    return result


def test_target_checks_pass_when_rerun_on_an_untouched_target(migrated, demo_defs, instance):
    assert check_results(_recheck(demo_defs, instance)) == {
        "target_count_matches_file": True, "vectors_match_file_on_sample": True,
        "search_results_match_source": True}


def test_count_check_fails_when_the_target_lost_a_record(migrated, demo_defs, instance):
    with sqlite3.connect(migrated) as db:
        db.execute("DELETE FROM records WHERE rowid = (SELECT max(rowid) FROM records)")
    result = _recheck(demo_defs, instance)
    assert check_results(result)["target_count_matches_file"] is False
    assert check_metadata(result, "target_count_matches_file")["target_counts"] == {"statements": 83}


def test_fidelity_check_fails_when_a_sampled_vector_or_text_changed(migrated, demo_defs, instance):
    with sqlite3.connect(migrated) as db:  # the file's first record is always in the sample
        rowid, blob = db.execute("SELECT rowid, vector FROM records ORDER BY rowid LIMIT 1").fetchone()
        vector = np.frombuffer(blob, "<f4").copy()
        vector[:50] = -vector[:50]
        db.execute("UPDATE records SET vector = ? WHERE rowid = ?", (vector.tobytes(), rowid))
    result = _recheck(demo_defs, instance)
    assert check_results(result)["vectors_match_file_on_sample"] is False
    assert check_metadata(result, "vectors_match_file_on_sample")["min_cosine"] < 0.9999
    with sqlite3.connect(migrated) as db:
        db.execute("UPDATE records SET vector = ? WHERE rowid = ?", (blob, rowid))
        db.execute("UPDATE records SET text = 'edited' WHERE rowid = ?", (rowid,))
    result = _recheck(demo_defs, instance)
    assert check_results(result)["vectors_match_file_on_sample"] is False
    assert check_metadata(result, "vectors_match_file_on_sample")["text_mismatches"] == 1


def test_search_parity_fails_when_the_target_returns_other_neighbours(migrated, demo_defs, instance):
    rng = np.random.default_rng(7)
    with sqlite3.connect(migrated) as db:
        for (rowid,) in db.execute("SELECT rowid FROM records").fetchall():
            noise = rng.standard_normal(384).astype("<f4")
            db.execute("UPDATE records SET vector = ? WHERE rowid = ?", (noise.tobytes(), rowid))
    result = _recheck(demo_defs, instance)
    assert check_results(result)["search_results_match_source"] is False
    assert check_metadata(result, "search_results_match_source")["recall@10"] < 0.5
    assert check_results(result)["target_count_matches_file"] is True


def test_a_jsonl_target_gets_one_file_per_namespace_and_passes_every_check(write_migrations, data_dir, instance):
    defs = build_definitions(write_migrations(f"""
migrations:
  - name: tofiles
    source: {{store: vektor, collection: pydocs, settings: {{path: src.db}}, seed: {SAMPLE}}}
    target: {{store: jsonl, collection: "pydocs-{{namespace}}", settings: {{dir: out}}}}
    options: {{metric: dot}}
"""))
    assert len(discover(defs, instance, "tofiles")) == 3
    for key in ("datamodel", "statements"):  # the two smaller namespaces are enough
        result = run_partition(defs, instance, "tofiles", key)
        assert result.success and check_results(result) == {name: True for name in ALL_CHECKS}
        assert check_metadata(result, "search_results_match_source")["metric"] == "dot"
    files = sorted(p.name for p in (data_dir / "out").glob("*.vmig.jsonl"))
    assert files == ["pydocs-datamodel.vmig.jsonl", "pydocs-statements.vmig.jsonl"]
    assert read_meta(data_dir / "out" / "pydocs-datamodel.vmig.jsonl").record_count == 127


def test_the_demo_into_qdrant_local_mode_passes_every_check(write_migrations, data_dir, instance):
    pytest.importorskip("qdrant_client", reason="the qdrant extra is not installed")
    defs = build_definitions(write_migrations(f"""
migrations:
  - name: toqdrant
    source: {{store: vektor, collection: pydocs, settings: {{path: src.db}}, seed: {SAMPLE}}}
    target: {{store: qdrant, collection: pydocs, settings: {{path: qdrant}}}}
"""))
    assert "statements" in discover(defs, instance, "toqdrant")
    result = run_partition(defs, instance, "toqdrant", "statements")
    assert result.success and check_results(result) == {name: True for name in ALL_CHECKS}
    assert check_metadata(result, "vectors_match_file_on_sample")["min_cosine"] >= 0.9999
    assert (data_dir / "qdrant").is_dir()
