"""`vex validate`: lint every line of a vmig file and its sidecar, streaming.

Memory stays flat: each line is checked and dropped; duplicate ids are found from
an 8-byte hash per record (8 MB per million records), and only when a hash repeats
is the file read a second time to name the lines involved.
"""

from __future__ import annotations

import hashlib
import math
import re
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from vex_dagster.vmig.checksum import LineHasher
from vex_dagster.vmig.files import meta_path, open_binary
from vex_dagster.vmig.io import decode_json, iter_lines
from vex_dagster.vmig.meta import MetaError, read_meta
from vex_dagster.vmig.record import FIELD_ALIASES, STANDARD_FIELDS

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$")
ERROR, WARNING = "error", "warning"
_STRING_FIELDS = ("text", "model", "namespace", "source_store")


@dataclass
class Problem:
    severity: str
    line: int | None  # None: about the file or its sidecar
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        what = f" [{self.field}]" if self.field else ""
        return f"{where}: {self.severity}{what}: {self.message}"


@dataclass
class LintReport:
    path: str
    records: int = 0
    checksum: str | None = None
    problems: list[Problem] = field(default_factory=list)
    omitted: int = 0  # problems beyond the report limit, counted but not kept
    limit: int = 1000

    @property
    def errors(self) -> int:
        return sum(p.severity == ERROR for p in self.problems) + self.omitted

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def add(self, severity: str, line: int | None, fld: str | None, message: str) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(Problem(severity, line, fld, message))
        elif severity == ERROR:
            self.omitted += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path, "ok": self.ok, "records": self.records, "checksum": self.checksum,
            "errors": self.errors, "warnings": sum(p.severity == WARNING for p in self.problems),
            "omitted_errors": self.omitted, "problems": [asdict(p) for p in self.problems],
        }


def _id_hash(namespace: Any, rid: Any) -> int:
    digest = hashlib.blake2b(f"{namespace or ''}\x00{rid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _RecordRules:
    """The per-record rules; one instance walks one file."""

    def __init__(self, report: LintReport, strict: bool):
        self.report, self.strict = report, strict
        self.dims_by_namespace: dict[str, tuple[int, int]] = {}
        self.namespaces: dict[str, int] = {}
        self.id_hashes = array("q")

    def check(self, number: int, obj: Any) -> None:
        add = self.report.add
        if not isinstance(obj, dict):
            add(ERROR, number, None, f"a record must be a JSON object, not {type(obj).__name__}")
            return
        for alias, name in FIELD_ALIASES.items():
            if alias in obj and name not in obj:
                obj[name] = obj.pop(alias)
        rid = obj.get("id")
        if "id" not in obj:
            add(ERROR, number, "id", "id is required")
        elif not isinstance(rid, str) or not rid:
            add(ERROR, number, "id", f"id must be a non-empty string, got {rid!r}")
        namespace = obj.get("namespace") or ""
        self.namespaces[namespace] = self.namespaces.get(namespace, 0) + 1
        self.id_hashes.append(_id_hash(namespace, rid))
        self._check_vector(number, obj, namespace)
        for name in _STRING_FIELDS:
            if obj.get(name) is not None and not isinstance(obj[name], str):
                add(ERROR, number, name, f"{name} must be a string or null")
        self._check_metadata(number, obj.get("metadata"))
        created = obj.get("created_at")
        if _is_number(created):
            add(WARNING, number, "created_at", "epoch number (original Vex); ISO 8601 is preferred")
        elif created is not None and not isinstance(created, str):
            add(ERROR, number, "created_at", "created_at must be an ISO 8601 string or null")
        if "modality" in obj and not isinstance(obj["modality"], str):
            add(ERROR, number, "modality", "modality must be a string")
        if obj.get("score") is not None and not _is_number(obj["score"]):
            add(ERROR, number, "score", "score must be a number or null")
        version = obj.get("vex_version")
        if version is None:
            add(ERROR, number, "vex_version", "vex_version is required")
        elif not isinstance(version, str) or not SEMVER.match(version):
            add(ERROR, number, "vex_version", f"vex_version must be semver like 1.0.0, got {version!r}")
        if obj.get("sparse_vector") is not None:
            self._check_sparse(number, obj["sparse_vector"])
        unknown = [k for k in obj if k not in STANDARD_FIELDS]
        if unknown:
            add(WARNING, number, unknown[0], f"unknown field(s) {', '.join(unknown)} (kept as they are)")

    def _check_vector(self, number: int, obj: dict, namespace: str) -> None:
        add = self.report.add
        vector, dims = obj.get("vector"), obj.get("dims")
        if vector is None:
            if not isinstance(obj.get("text"), str):
                add(ERROR, number, "vector", "vector is null and there is no text to embed")
        elif not isinstance(vector, list) or not vector:
            add(ERROR, number, "vector", "vector must be a non-empty array of numbers or null")
            return
        else:
            if not all(_is_number(x) for x in vector):
                add(ERROR, number, "vector", "vector must contain only numbers")
                return
            if not np.isfinite(np.asarray(vector, dtype=np.float64)).all():
                add(ERROR, number, "vector", "vector contains a non-finite number (NaN or Infinity)")
            elif np.abs(np.asarray(vector, dtype=np.float64)).max() > 3.4028234663852886e38:
                add(ERROR, number, "vector", "vector has a component beyond float32 range")
            seen = self.dims_by_namespace.setdefault(namespace, (len(vector), number))
            if seen[0] != len(vector):
                add(ERROR, number, "dims", f"{len(vector)} dimensions, but namespace "
                    f"{namespace or '(default)'!r} has {seen[0]} (line {seen[1]})")
        if dims is not None:
            if not isinstance(dims, int) or isinstance(dims, bool):
                add(ERROR, number, "dims", "dims must be an integer or null")
            elif isinstance(vector, list) and dims != len(vector):
                add(ERROR, number, "dims", f"dims is {dims} but the vector has {len(vector)} numbers")

    def _check_metadata(self, number: int, metadata: Any) -> None:
        if metadata is None:
            return
        if not isinstance(metadata, dict):
            self.report.add(ERROR, number, "metadata", "metadata must be an object or null")
            return
        for key, value in metadata.items():
            if isinstance(value, float) and not math.isfinite(value):
                self.report.add(ERROR, number, "metadata", f"metadata.{key} is not a finite number")
            if self.strict and (isinstance(value, dict) or (
                isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)
            )):
                self.report.add(ERROR, number, "metadata",
                                f"metadata.{key} is nested; vmig 1.0 strict metadata is flat")

    def _check_sparse(self, number: int, sparse: Any) -> None:
        ok = (
            isinstance(sparse, dict)
            and isinstance(sparse.get("indices"), list)
            and isinstance(sparse.get("values"), list)
            and len(sparse["indices"]) == len(sparse["values"])
            and all(isinstance(i, int) and i >= 0 for i in sparse["indices"])
            and all(_is_number(v) for v in sparse["values"])
        )
        if not ok:
            self.report.add(ERROR, number, "sparse_vector",
                            "sparse_vector must be {indices: [int >= 0], values: [number]} of equal length")


def _report_duplicates(path: Path, report: LintReport, hashes: array) -> None:
    """Second pass, only when some hash repeats: name each duplicate and its first line."""
    ordered = np.sort(np.frombuffer(hashes, dtype=np.int64))
    repeated = set(ordered[1:][ordered[1:] == ordered[:-1]].tolist())
    if not repeated:
        return
    first_seen: dict[int, int] = {}
    with open_binary(path) as fh:
        for number, line, _ in iter_lines(fh, path):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict):
                continue
            key = _id_hash(obj.get("namespace") or "", obj.get("id"))
            if key in repeated:
                if key in first_seen:
                    report.add(ERROR, number, "id", f"duplicate id {obj.get('id')!r} in namespace "
                               f"{obj.get('namespace') or '(default)'!r} (first on line {first_seen[key]})")
                else:
                    first_seen[key] = number


def _check_sidecar(path: Path, report: LintReport, rules: _RecordRules) -> None:
    if not meta_path(path).exists():
        report.add(WARNING, None, "meta", f"no {meta_path(path).name}: count and checksum not checked")
        return
    try:
        meta = read_meta(path)
    except MetaError as exc:
        report.add(ERROR, None, "meta", str(exc))
        return
    if meta.record_count != report.records:
        report.add(ERROR, None, "record_count",
                   f"the meta file says {meta.record_count} records, the file has {report.records}")
    if meta.checksum != report.checksum:
        report.add(ERROR, None, "checksum",
                   f"checksum mismatch: meta says {meta.checksum}, the file gives {report.checksum}")
    if meta.namespaces and meta.namespaces != rules.namespaces:
        report.add(ERROR, None, "namespaces",
                   f"the meta file's namespace counts {meta.namespaces} differ from the file's {rules.namespaces}")
    all_dims = {d for d, _ in rules.dims_by_namespace.values()}
    if meta.dims is not None and all_dims and all_dims != {meta.dims}:
        report.add(ERROR, None, "dims", f"the meta file says dims {meta.dims}, records have {sorted(all_dims)}")


def lint_file(path: str | Path, *, strict: bool = False, limit: int = 1000) -> LintReport:
    """Check every line of ``path`` and its sidecar; never holds more than one line."""
    path = Path(path)
    report = LintReport(path=str(path), limit=limit)
    rules = _RecordRules(report, strict)
    hasher = LineHasher()
    try:
        with open_binary(path) as fh:
            for number, line, terminated in iter_lines(fh, path):
                hasher.add(line)
                report.records = number
                if not terminated:
                    report.add(ERROR, number, None, "the last line has no LF: the file is truncated")
                if not line.strip():
                    report.add(ERROR, number, None, "blank line (vmig allows none)")
                    continue
                try:
                    obj = decode_json(line)
                except orjson.JSONDecodeError as exc:
                    message = "not valid UTF-8" if "utf-8" in str(exc).lower() else f"not valid JSON ({exc})"
                    report.add(ERROR, number, None, message)
                    continue
                rules.check(number, obj)
    except OSError as exc:  # unreadable, or a corrupt gzip stream
        report.add(ERROR, None, None, f"cannot read the file: {exc}")
        return report
    if report.records == 0:
        report.add(ERROR, None, None, "the file holds no records")
    report.checksum = hasher.hexdigest()
    _report_duplicates(path, report, rules.id_hashes)
    _check_sidecar(path, report, rules)
    return report
