"""Reversible metadata encoding for stores that cannot hold every JSON value.

Pinecone keeps no nulls, no nested objects and only lists of strings; Chroma keeps
scalars (and flat same-type lists); Weaviate wants typed properties. A connector
describes what its store can hold, and values it cannot hold - plus keys that
collide with the connector's own reserved keys - travel as JSON text in one
reserved key, listed there so that decoding restores the exact original:
A -> B -> A gives back the same metadata, null and {} included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

MARKER = "__vex__"


@dataclass(frozen=True)
class MetadataCodec:
    can_hold: Callable[[Any], bool]  # True if the store keeps this value as it is
    reserved: frozenset[str] = frozenset()  # keys the connector writes itself
    #: for stores with typed fields (Weaviate): True if this key may hold this value
    fits: Callable[[str, Any], bool] | None = None

    def encode(self, metadata: dict[str, Any] | None) -> dict[str, Any]:
        """A flat dict the store accepts; decode() turns it back into ``metadata``."""
        if metadata is None:
            return {MARKER: orjson.dumps({"null": True}).decode()}
        native, packed = {}, {}
        for key, value in metadata.items():
            if (key in self.reserved or key == MARKER or not self.can_hold(value)
                    or (self.fits is not None and not self.fits(key, value))):
                packed[key] = value
            else:
                native[key] = value
        if packed:
            native[MARKER] = orjson.dumps({"json": packed}).decode()
        return native

    def decode(self, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        """The original metadata from what the store gave back (reserved keys removed)."""
        stored = {k: v for k, v in (stored or {}).items() if k not in self.reserved}
        packed = stored.pop(MARKER, None)
        if packed is None:
            return stored
        info = orjson.loads(packed)
        if info.get("null"):
            return None
        stored.update(info.get("json", {}))
        return stored


def is_scalar(value: Any) -> bool:
    """str, bool, finite-width int, float: what every store keeps."""
    if isinstance(value, bool) or isinstance(value, (str, float)):
        return True
    return isinstance(value, int) and -(2**63) <= value < 2**63
