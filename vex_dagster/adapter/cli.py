"""``vex-adapt``: fit, list and apply drift adapters.

    vex-adapt train --from A --to B --pairs aligned.jsonl
    vex-adapt train --from A --to B --pairs a.vmig.jsonl --targets b.vmig.jsonl
    vex-adapt list
    vex-adapt --from A --to B FILE.vmig.jsonl [--out OUT.vmig.jsonl]
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np
import orjson

from vex_dagster.adapter.apply import adapt_file
from vex_dagster.adapter.fit import METHODS, fit
from vex_dagster.adapter.registry import AdapterNotFound, Card, default_dir, list_cards, save
from vex_dagster.progress import terminal_progress
from vex_dagster.vmig import VmigReader

registry_option = click.option("--registry", type=click.Path(file_okay=False, path_type=Path), default=None,
                               help="adapter registry directory [default: VEX_ADAPTER_DIR or "
                                    "~/.local/share/vex/adapters]")


def _aligned(pairs: Path, targets: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Aligned rows from a JSONL of {"source": [...], "target": [...]}, or two vmig files
    matched by (namespace, id)."""
    if targets is None:
        rows = [orjson.loads(line) for line in pairs.read_bytes().splitlines() if line.strip()]
        try:
            return (np.array([r["source"] for r in rows], np.float32), np.array([r["target"] for r in rows], np.float32))
        except (KeyError, TypeError) as exc:
            raise click.UsageError(f"{pairs}: each line needs 'source' and 'target' vectors "
                                   "(or give vmig files with --targets)") from exc
    wanted = {(r.namespace or "", r.id): r.vector for r in VmigReader(targets) if r.vector is not None}
    source, target = [], []
    for record in VmigReader(pairs):
        key = (record.namespace or "", record.id)
        if record.vector is not None and key in wanted:
            source.append(record.vector)
            target.append(wanted[key])
    if not source:
        raise click.UsageError(f"no record of {pairs.name} has the same (namespace, id) in {targets.name}")
    return np.stack(source), np.stack(target)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Translate vectors between embedding models with learned linear maps.

    \b
    vex-adapt --from A --to B FILE.vmig.jsonl      apply (writes FILE.B.vmig.jsonl)
    vex-adapt train --from A --to B --pairs F      fit and save an adapter
    vex-adapt list                                 show the registry
    """


@cli.command("train")
@click.option("--from", "from_model", required=True, help="the model the vectors come from")
@click.option("--to", "to_model", required=True, help="the model whose space they go to")
@click.option("--pairs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="aligned.jsonl ({source, target} per line), or a vmig file of model A")
@click.option("--targets", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="with a vmig --pairs: the same records embedded with model B")
@click.option("--method", type=click.Choice(("auto",) + METHODS), default="auto", show_default=True,
              help="auto: the best held-out mean cosine")
@registry_option
def train_command(from_model, to_model, pairs, targets, method, registry):
    """Fit an adapter from aligned pairs and save it in the registry."""
    source, target = _aligned(pairs, targets)
    try:
        adapter, scores = fit(source, target, method)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    card = Card(from_model, to_model, source.shape[1], target.shape[1], adapter.method, len(source),
                {k: round(v, 4) for k, v in scores.items()})
    path = save(adapter, card, registry)
    click.echo(f"fitted {adapter.method} on {len(source):,} pairs ({source.shape[1]} -> {target.shape[1]} dims); "
               f"held-out mean cosine {scores[adapter.method]:.4f}; saved {path}")


@cli.command("list")
@registry_option
def list_command(registry):
    """Show the adapters in the registry and the shipped ones."""
    cards = list_cards(registry)
    if not cards:
        click.echo(f"no adapters in {registry or default_dir()}")
    for card, builtin in cards:
        where = "shipped" if builtin else "user"
        click.echo(f"{card.from_model} -> {card.to_model}  {card.dims_in}->{card.dims_out} dims  {card.method}  "
                   f"{card.training_pairs:,} pairs  held-out cosine {max(card.heldout_mean_cosine.values()):.3f}  "
                   f"[{where}]")


@cli.command("apply")
@click.option("--from", "from_model", required=True)
@click.option("--to", "to_model", required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="default: FILE with the target's name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@registry_option
def apply_command(from_model, to_model, out, file, registry):
    """Translate every vector of FILE into the target model's space (streaming)."""
    out = out or file.with_name(file.name.replace(".vmig.jsonl", "") + f".{to_model.split('/')[-1]}.vmig.jsonl")
    try:
        result = adapt_file(file, out, from_model=from_model, to_model=to_model, registry_dir=registry,
                            progress=terminal_progress())
    except (AdapterNotFound, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    rate = result.records / result.seconds if result.seconds else float("inf")
    click.echo(f"adapted {result.records:,} records to {to_model} in {result.seconds:.2f} s "
               f"({rate:,.0f} records/s) -> {out}")


def main() -> None:
    """``vex-adapt --from A --to B FILE`` is ``vex-adapt apply ...``."""
    args = sys.argv[1:]
    if args and args[0] not in cli.commands and args[0] not in ("-h", "--help"):
        args = ["apply", *args]
    cli.main(args=args, prog_name="vex-adapt")


if __name__ == "__main__":
    main()
