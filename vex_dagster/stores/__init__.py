"""Store connectors, looked up by name.

Each module here holds one connector and imports its client library lazily, so
that ``vex --help`` and a user with one extra installed never pay for the others.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, DimensionMismatch, Neighbour, Setting, Store, StoreError,
    StoreUnavailable,
)

#: store name -> module:class. The pip extra that brings its client has the same name.
CONNECTORS = {
    "vektor": "vex_dagster.stores.vektor:VektorStore",
    "jsonl": "vex_dagster.stores.jsonl:JsonlStore",
    "pgvector": "vex_dagster.stores.pgvector:PgvectorStore",
    "chroma": "vex_dagster.stores.chroma:ChromaStore",
    "qdrant": "vex_dagster.stores.qdrant:QdrantStore",
    "pinecone": "vex_dagster.stores.pinecone:PineconeStore",
    "weaviate": "vex_dagster.stores.weaviate:WeaviateStore",
}


def store_class(name: str) -> type[Store]:
    if name not in CONNECTORS:
        raise StoreError(f"unknown store {name!r}; choose one of {', '.join(CONNECTORS)}")
    module_name, class_name = CONNECTORS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the {name} connector needs {exc.name!r}: pip install 'vex-dagster[{name}]'"
        ) from exc
    return getattr(module, class_name)


def available_store_classes() -> dict[str, type[Store]]:
    """The connectors whose modules import here (all settings are declared there)."""
    found = {}
    for name in CONNECTORS:
        try:
            found[name] = store_class(name)
        except StoreError:
            continue
    return found


def env_name(store: str, setting: str) -> str:
    return f"VEX_{store}_{setting}".upper().replace("-", "_")


def resolve_settings(name: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings for a store: given values, else ``VEX_<STORE>_<SETTING>``, else defaults."""
    given = {k: v for k, v in (given or {}).items() if v is not None}
    resolved = {}
    for setting in store_class(name).settings:
        value = given.get(setting.name, os.environ.get(env_name(name, setting.name)))
        if value is None:
            value = setting.default
        elif setting.type is bool and isinstance(value, str):
            value = value.strip().lower() in ("1", "true", "yes", "on")
        elif value is not None and not isinstance(value, setting.type):
            value = setting.type(value)
        resolved[setting.name] = value
    return resolved


def open_store(name: str, given: dict[str, Any] | None = None) -> Store:
    """Instantiate the named connector with resolved settings."""
    return store_class(name)(**resolve_settings(name, given))


__all__ = [
    "CONNECTORS", "CollectionInfo", "CollectionNotFound", "DimensionMismatch", "Neighbour",
    "Setting", "Store", "StoreError", "StoreUnavailable", "available_store_classes", "env_name", "open_store",
    "resolve_settings", "store_class",
]
