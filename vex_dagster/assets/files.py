"""What the stage assets share: their decorator arguments, and what a file-producing
asset reports (path, count, dims, model, checksum, a preview)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import dagster as dg

from vex_dagster.migrations import MigrationSpec
from vex_dagster.vmig import VmigReader, VmigReadError, read_meta

PREVIEW_ROWS = 5


def stage_pool(migration: MigrationSpec, stage: str) -> str:
    """A stage's concurrency pool: its store's for export and import (``vex-pgvector``),
    the stage's own otherwise (``vex-reembed``); shared by the assets and the parallel job."""
    stores = {"export": migration.source.store, "import": migration.target.store}
    return f"vex-{stores.get(stage, stage)}"


def stage_asset_args(migration: MigrationSpec, stage: str, partitions, *, kind: str,
                     upstream: str | None = None, resource_key: str | None = None, description: str) -> dict:
    """``@dg.asset`` arguments of one stage: key ``<migration>/<stage>``, the migration's
    group and partitions, the store's kind and ``vex-<kind>`` pool."""
    return dict(
        key=[migration.name, stage],
        deps=[dg.AssetKey([migration.name, upstream])] if upstream else None,
        partitions_def=partitions,
        group_name=migration.name,
        kinds={kind},
        pool=stage_pool(migration, stage),
        required_resource_keys={resource_key} if resource_key else None,
        description=description,
    )


def preview_markdown(path: Path, rows: int = PREVIEW_ROWS) -> str:
    """The first few records as a markdown table (text cut short, 3 vector components)."""
    lines = ["| id | namespace | text | vector |", "|---|---|---|---|"]
    try:
        for record in islice(VmigReader(path), rows):
            text = (record.text or "").replace("|", "\\|").replace("\n", " ")
            text = text[:80] + ("…" if len(text) > 80 else "")
            vector = ("[" + ", ".join(f"{x:.4f}" for x in record.vector[:3]) + ", …]"
                      if record.vector is not None else "null")
            lines.append(f"| {record.id} | {record.namespace or ''} | {text} | {vector} |")
    except VmigReadError as exc:  # judging the file is the lint check's job, not the preview's
        lines.append(f"\n(preview stops here: {exc})")
    return "\n".join(lines)


def file_result(path: Path, **extra) -> dg.MaterializeResult:
    """A MaterializeResult for a finished vmig file; its checksum is the data version."""
    meta = read_meta(path)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "records": meta.record_count,
            "dagster/row_count": meta.record_count,  # shown in the asset catalog
            "dims": meta.dims,
            "model": meta.model,
            "metric": meta.metric,
            "checksum": meta.checksum,
            "namespaces": dg.MetadataValue.json(meta.namespaces),
            "preview": dg.MetadataValue.md(preview_markdown(path)),
            **extra,
        },
        data_version=dg.DataVersion(meta.checksum),
    )
