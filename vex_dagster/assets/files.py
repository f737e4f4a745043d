"""What a file-producing asset reports: path, count, dims, model, checksum, a preview."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import dagster as dg

from vex_dagster.vmig import VmigReader, read_meta

PREVIEW_ROWS = 5


def preview_markdown(path: Path, rows: int = PREVIEW_ROWS) -> str:
    """The first few records as a markdown table (text cut short, 3 vector components)."""
    lines = ["| id | namespace | text | vector |", "|---|---|---|---|"]
    for record in islice(VmigReader(path), rows):
        text = (record.text or "").replace("|", "\\|").replace("\n", " ")
        text = text[:80] + ("…" if len(text) > 80 else "")
        vector = ("[" + ", ".join(f"{x:.4f}" for x in record.vector[:3]) + ", …]"
                  if record.vector is not None else "null")
        lines.append(f"| {record.id} | {record.namespace or ''} | {text} | {vector} |")
    return "\n".join(lines)


def file_result(path: Path, **extra) -> dg.MaterializeResult:
    """A MaterializeResult for a finished vmig file; its checksum is the data version."""
    meta = read_meta(path)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "records": meta.record_count,
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
