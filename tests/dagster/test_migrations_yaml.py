"""migrations.yaml: what loads, and the errors that name the migration and the field."""

import dagster as dg
import pytest

from vex_dagster.definitions import build_definitions
from vex_dagster.migrations import MigrationsError, load_migrations

GOOD = """
migrations:
  - name: docs
    source: {store: vektor, collection: docs, settings: {path: a.db}, namespaces: [faq]}
    target: {store: jsonl, collection: "docs-{namespace}", settings: {dir: out}}
    reembed: {model: intfloat/multilingual-e5-small, base_url: "http://127.0.0.1:9/v1"}
    cron: "0 3 * * *"
    options: {batch_size: 500, metric: dot}
"""


def test_a_full_migration_builds_assets_checks_job_schedule_and_sensors(write_migrations, data_dir):
    defs = build_definitions(write_migrations(GOOD))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {
        "docs/export", "docs/reembed", "docs/import"}
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("docs/reembed", "reembed_checksum_matches") in checks
    assert ("docs/export", "export_passes_vmig_lint") in checks
    assert defs.resolve_schedule_def("docs_schedule").cron_schedule == "0 3 * * *"
    assert defs.resolve_job_def("docs").partitions_def.name == "docs_namespaces"
    export = graph.get(dg.AssetKey(["docs", "export"]))
    assert export.kinds == {"vektor"} and export.group_name == "docs"
    pools = {a.key.to_user_string(): a.op.pool for a in defs.assets}
    assert pools == {"docs/export": "vex-vektor", "docs/reembed": "vex-reembed", "docs/import": "vex-jsonl"}
    spec = load_migrations(write_migrations(GOOD)).migrations[0]
    assert spec.stage_path("reembed", "faq") == data_dir / "docs" / "reembed" / "faq.vmig.jsonl"
    assert spec.target_collection("faq") == "docs-faq"


@pytest.mark.parametrize("change, message", [
    ("source: {store: vektor,", "migration 'docs': source.store: Value error, unknown store 'vektr'"),
    ("collection: docs,", "migration 'docs': source.collection: String should have at least 1 character"),
    ('cron: "0 3 * * *"', "migration 'docs': cron: Value error, 'every day' is not a cron expression"),
    ("batch_size: 500", "migration 'docs': options.batch_size: Input should be greater than or equal to 1"),
    ("metric: dot", "migration 'docs': options.metric: Input should be 'cosine', 'dot' or 'euclidean'"),
    ("settings: {path: a.db}", "migration 'docs': source.settings.pth: unknown setting for vektor; known: path"),
    ('collection: "docs-{namespace}"', "target.collection: a jsonl collection is one file"),
    ("    cron:", "migration 'docs': crn: Extra inputs are not permitted"),
])
def test_errors_name_the_migration_and_the_field(write_migrations, data_dir, change, message):
    broken = {
        "source: {store: vektor,": "source: {store: vektr,",
        "collection: docs,": "collection: '',",
        'cron: "0 3 * * *"': "cron: every day",
        "batch_size: 500": "batch_size: 0",
        "metric: dot": "metric: manhattan",
        "settings: {path: a.db}": "settings: {pth: a.db}",
        'collection: "docs-{namespace}"': "collection: docs",
        "    cron:": "    crn:",
    }
    text = GOOD.replace(change, broken[change], 1)
    with pytest.raises(MigrationsError) as error:
        load_migrations(write_migrations(text))
    assert message in str(error.value)


def test_an_unnamed_migration_is_located_by_position(write_migrations):
    with pytest.raises(MigrationsError, match=r"migration #2: name: Field required"):
        load_migrations(write_migrations(GOOD + "  - {source: {store: vektor, collection: x}}\n"))


def test_secrets_must_come_from_the_environment(write_migrations, monkeypatch):
    from vex_dagster.migrations import StoreSpec, build_resource
    from vex_dagster.stores.base import Setting
    from vex_dagster.stores.vektor import VektorStore

    # vektor has no secret; declare its path secret for this test to exercise the rule
    monkeypatch.setattr(VektorStore, "settings", (Setting("path", "p", secret=True),))
    with pytest.raises(MigrationsError, match=r"docs.source.settings.path: a secret must come from"):
        build_resource(StoreSpec(store="vektor", collection="x", settings={"path": "s3cr3t"}), "docs.source")
    monkeypatch.setenv("VEX_TEST_SECRET", "s3cr3t")
    resource = build_resource(StoreSpec(store="vektor", collection="x",
                                        settings={"path": {"env": "VEX_TEST_SECRET"}}), "docs.source")
    assert isinstance(resource.path, dg.EnvVar) and "s3cr3t" not in repr(resource)


def test_duplicate_names_invalid_yaml_and_a_missing_file(write_migrations, tmp_path, monkeypatch):
    with pytest.raises(MigrationsError, match="repeated: docs"):
        load_migrations(write_migrations(GOOD + GOOD.split("migrations:\n")[1]))
    with pytest.raises(MigrationsError, match="not valid YAML"):
        load_migrations(write_migrations("migrations: [\n"))
    monkeypatch.setenv("VEX_MIGRATIONS", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(MigrationsError, match="no migrations file at .*nowhere.yaml; set VEX_MIGRATIONS"):
        load_migrations()


def test_a_connector_secret_written_in_the_file_is_refused(write_migrations):
    text = GOOD.replace("target: {store: jsonl, collection: \"docs-{namespace}\", settings: {dir: out}}",
                        "target: {store: qdrant, collection: docs, settings: {url: 'http://q:6333', api_key: abc}}")
    with pytest.raises(MigrationsError, match=r"migration 'docs': target.settings.api_key: a secret must come"):
        load_migrations(write_migrations(text))
    loaded = load_migrations(write_migrations(text.replace("api_key: abc", "api_key: {env: QDRANT_API_KEY}")))
    assert loaded.migrations[0].target.settings["api_key"] == {"env": "QDRANT_API_KEY"}
