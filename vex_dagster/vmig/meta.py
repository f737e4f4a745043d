"""The `.vmig.meta.json` sidecar: count, source, dims, namespaces and checksum."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vex_dagster import __version__
from vex_dagster.vmig.files import atomic_write_bytes, meta_path
from vex_dagster.vmig.record import FORMAT_VERSION


class MetaError(ValueError):
    """A sidecar that is missing, unreadable or malformed."""


@dataclass
class Meta:
    record_count: int
    checksum: str
    source_store: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    dims: int | None = None
    model: str | None = None
    metric: str | None = None
    namespaces: dict[str, int] = field(default_factory=dict)
    exported_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    )
    vex_version: str = __version__
    format: str = "vmig"
    format_version: str = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        ordered = {
            key: data[key]
            for key in (
                "vex_version", "format", "format_version", "exported_at", "source_store",
                "source", "record_count", "dims", "model", "metric", "namespaces", "checksum",
            )
        }
        ordered.update(extra)
        return ordered

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Meta":
        if not isinstance(data, dict):
            raise MetaError("the meta file must hold a JSON object")
        known = {name for name in cls.__dataclass_fields__ if name != "extra"}
        missing = [name for name in ("record_count", "checksum") if name not in data]
        if missing:
            raise MetaError(f"the meta file lacks {', '.join(missing)}")
        if not isinstance(data["record_count"], int) or data["record_count"] < 0:
            raise MetaError("record_count must be a non-negative integer")
        if not isinstance(data["checksum"], str) or not data["checksum"].startswith("sha256:"):
            raise MetaError("checksum must be a string 'sha256:<hex>'")
        kwargs = {k: v for k, v in data.items() if k in known}
        if "source_store" not in kwargs and isinstance(data.get("source"), str):
            kwargs["source_store"] = data["source"]  # original Vex spelling
        if not isinstance(kwargs.get("source"), dict):
            kwargs["source"] = {}
        kwargs["namespaces"] = kwargs.get("namespaces") or {}
        return cls(**kwargs, extra={k: v for k, v in data.items() if k not in known})


def write_meta(data_path: str | Path, meta: Meta) -> Path:
    """Write the sidecar for ``data_path`` atomically and return its path."""
    path = meta_path(data_path)
    atomic_write_bytes(path, orjson.dumps(meta.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return path


def read_meta(data_path: str | Path) -> Meta:
    """Read the sidecar beside ``data_path``; MetaError if absent or broken."""
    path = meta_path(data_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise MetaError(f"no meta file {path.name} beside {Path(data_path).name}") from exc
    try:
        return Meta.from_dict(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise MetaError(f"{path.name} is not valid JSON: {exc}") from exc
