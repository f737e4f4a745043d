"""The vmig record: one line of a `.vmig.jsonl` file, as a Python object.

Vectors are held as float32 numpy arrays because every store we speak to keeps
float32, and orjson writes a float32 array as the shortest decimal that parses back
to the same float32 - that is what makes the text format lossless.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from vex_dagster import __version__

FORMAT_VERSION = "1.0"

#: Field order on the line. Unknown fields follow, in the order they were read.
STANDARD_FIELDS = (
    "id",
    "vector",
    "dims",
    "text",
    "model",
    "namespace",
    "metadata",
    "created_at",
    "source_store",
    "modality",
    "score",
    "vex_version",
    "sparse_vector",
)

_STANDARD_SET = frozenset(STANDARD_FIELDS)

#: Spellings written by the original (Node) Vex, mapped to ours.
FIELD_ALIASES = {"source": "source_store"}

_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE


class RecordError(ValueError):
    """A line that cannot become a record; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(slots=True)
class Record:
    id: str
    vector: np.ndarray | None = None
    text: str | None = None
    model: str | None = None
    namespace: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: str | None = None
    source_store: str | None = None
    modality: str = "text"
    score: float | None = None
    vex_version: str = __version__
    sparse_vector: dict[str, list] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dims(self) -> int | None:
        return None if self.vector is None else int(self.vector.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """The record as it stands on a vmig line (vector left as a numpy array)."""
        out: dict[str, Any] = {
            "id": self.id,
            "vector": self.vector,
            "dims": self.dims,
            "text": self.text,
            "model": self.model,
            "namespace": self.namespace,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "source_store": self.source_store,
            "modality": self.modality,
        }
        if self.score is not None:
            out["score"] = self.score
        out["vex_version"] = self.vex_version
        if self.sparse_vector is not None:
            out["sparse_vector"] = self.sparse_vector
        if self.extra:
            out.update(self.extra)
        return out

    def to_line(self) -> bytes:
        """Serialise to one LF-terminated vmig line."""
        return orjson.dumps(self.to_dict(), option=_DUMP_OPTIONS)


def epoch_to_iso(value: int | float) -> str:
    """Original Vex wrote ``created_at`` as epoch milliseconds (or seconds)."""
    seconds = value / 1000 if abs(value) >= 1e11 else value
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return stamp.isoformat().replace("+00:00", "Z")


def _strict_vector(values: list) -> np.ndarray:
    """The slow conversion, for a list the fast one refused: it says what is wrong."""
    try:
        vector = np.array(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"vector must contain only numbers ({exc})", "vector") from exc
    if vector.ndim != 1:
        raise RecordError("vector must be a flat array of numbers", "vector")
    return vector


def as_vector(values: Any) -> np.ndarray | None:
    """A float32 vector from a JSON list (or None)."""
    if values is None:
        return None
    if isinstance(values, np.ndarray):
        return values.astype(np.float32, copy=False)
    if not isinstance(values, list):
        raise RecordError("vector must be an array of numbers or null", "vector")
    try:  # faster than np.array(values, dtype=np.float32), with the same values
        vector = np.fromiter(values, np.float32, len(values))
    except (TypeError, ValueError):
        vector = _strict_vector(values)
    if not np.isfinite(vector).all():
        raise RecordError("vector contains NaN or Infinity (or a number beyond float32)", "vector")
    return vector


def _optional_str(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RecordError(f"{key} must be a string or null, not {type(value).__name__}", key)


def record_from_dict(obj: Any) -> Record:
    """Build a record from a parsed vmig line, accepting the original Vex's variants.

    Raises RecordError for what cannot be carried (missing id, a vector that is not
    numbers). Finer rules (finite numbers, dims) are the linter's job, so that
    reading stays cheap.
    """
    if not isinstance(obj, dict):
        raise RecordError(f"a record must be a JSON object, not {type(obj).__name__}")
    known = obj
    if "source" in obj:  # the only alias; checked first because it is rare
        for alias, name in FIELD_ALIASES.items():
            if alias in obj and name not in obj:
                known = dict(obj)
                known[name] = known.pop(alias)
    rid = known.get("id")
    if not isinstance(rid, str) or not rid:
        raise RecordError("id is required and must be a non-empty string", "id")
    vector = as_vector(known.get("vector"))
    text = _optional_str(known, "text")
    if vector is None and text is None:
        raise RecordError("a record needs a vector or a text", "vector")
    metadata = known.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RecordError("metadata must be an object or null", "metadata")
    created_at = known.get("created_at")
    if isinstance(created_at, (int, float)) and not isinstance(created_at, bool):
        created_at = epoch_to_iso(created_at)
    elif created_at is not None and not isinstance(created_at, str):
        raise RecordError("created_at must be an ISO 8601 string or null", "created_at")
    namespace = _optional_str(known, "namespace") or None
    score = known.get("score")
    extra = {} if known.keys() <= _STANDARD_SET else {k: v for k, v in known.items() if k not in _STANDARD_SET}
    return Record(
        id=rid,
        vector=vector,
        text=text,
        model=_optional_str(known, "model"),
        namespace=namespace,
        metadata=metadata,
        created_at=created_at,
        source_store=_optional_str(known, "source_store"),
        modality=known.get("modality") or "text",
        score=float(score) if isinstance(score, (int, float)) else None,
        vex_version=known.get("vex_version") or __version__,
        sparse_vector=known.get("sparse_vector"),
        extra=extra,
    )
