"""Record ids for stores that only accept UUIDs (Weaviate) or uint64/UUID (Qdrant).

Ids the store accepts as they are stay as they are; any other id becomes a UUIDv5
derived from it (stable, so re-imports upsert the same point) and the connector
keeps the original under ``ORIGINAL_ID_KEY`` to restore it on export.
"""

from __future__ import annotations

import uuid

#: Fixed namespace for UUIDv5 ids; changing it would orphan every mapped point.
VEX_ID_NAMESPACE = uuid.UUID("6f0c7c1e-3b1a-5c8e-9d3f-8a7b6c5d4e3f")
ORIGINAL_ID_KEY = "_vex_id"


def canonical_uuid(rid: str) -> str | None:
    """``rid`` if it is a UUID written exactly as str(uuid.UUID(...)) prints it."""
    try:
        parsed = uuid.UUID(rid)
    except (ValueError, AttributeError, TypeError):
        return None
    return rid if str(parsed) == rid else None


def canonical_uint64(rid: str) -> int | None:
    """``int(rid)`` if ``rid`` is an unsigned 64-bit integer written without padding."""
    if not rid.isascii() or not rid.isdigit() or (len(rid) > 1 and rid[0] == "0"):
        return None
    value = int(rid)
    return value if value < 2**64 else None


def derived_uuid(rid: str) -> str:
    return str(uuid.uuid5(VEX_ID_NAMESPACE, rid))


def uuid_id(rid: str) -> tuple[str, bool]:
    """(store id, whether it was mapped) for UUID-only stores."""
    kept = canonical_uuid(rid)
    return (kept, False) if kept else (derived_uuid(rid), True)


def uint_or_uuid_id(rid: str) -> tuple[int | str, bool]:
    """(store id, whether it was mapped) for stores that take uint64 or UUID ids."""
    number = canonical_uint64(rid)
    if number is not None:
        return number, False
    return uuid_id(rid)
