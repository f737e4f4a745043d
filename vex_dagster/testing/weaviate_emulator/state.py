"""What a Weaviate node holds: collections (classes), tenants, objects, and the rules.

The rules are the documented ones (weaviate.io config-refs/schema, the REST and gRPC
references), so a client that breaks them here would break them on a real node:
- collection names ``^[A-Z][_0-9A-Za-z]*$``; property names ``^[_A-Za-z][_0-9A-Za-z]*$``
  and not ``id``, ``_id``, ``_additional`` or ``meta``; tenant names
  ``^[A-Za-z0-9_-]{1,64}$``;
- object ids are UUIDs; one vector length per vector index;
- a multi-tenant collection needs a tenant on every request, and a single-tenant one
  refuses a tenant;
- auto-schema is off: a property missing from the schema is refused (the emulator
  behaves like ``AUTOSCHEMA_ENABLED=false``, so a connector must declare its schema);
- values must fit their property's data type.

Error texts follow Weaviate's wording where we know it; where we do not, they are
marked "guess" in a comment.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLASS_NAME = re.compile(r"^[A-Z][_0-9A-Za-z]*$")
PROPERTY_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
TENANT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RESERVED_PROPERTIES = frozenset({"id", "_id", "_additional", "meta"})
DISTANCES = ("cosine", "dot", "l2-squared", "hamming", "manhattan")
DATA_TYPES = ("text", "text[]", "int", "int[]", "number", "number[]", "boolean", "boolean[]",
              "date", "date[]", "uuid", "uuid[]", "blob")


class WeaviateError(Exception):
    """A refusal, with the HTTP status the REST API answers it with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message, self.status = message, status


def _hnsw_defaults(distance: str) -> dict[str, Any]:
    """The vector index config a 1.32 node reports for a default HNSW index."""
    return {
        "skip": False, "cleanupIntervalSeconds": 300, "maxConnections": 32, "efConstruction": 128,
        "ef": -1, "dynamicEfMin": 100, "dynamicEfMax": 500, "dynamicEfFactor": 8,
        "vectorCacheMaxObjects": 1000000000000, "flatSearchCutoff": 40000, "distance": distance,
        "filterStrategy": "sweeping", "pq": {"enabled": False}, "bq": {"enabled": False},
        "sq": {"enabled": False},
    }


def _with_server_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    """The class as GET /v1/schema/{name} returns it: every default filled in."""
    cls = copy.deepcopy(definition)
    cls.setdefault("properties", [])
    for prop in cls["properties"]:
        text = prop["dataType"][0] in ("text", "text[]")
        prop.setdefault("indexFilterable", True)
        prop.setdefault("indexSearchable", text)
        prop.setdefault("indexRangeFilters", False)
        if text:
            prop.setdefault("tokenization", "word")
    cls.setdefault("invertedIndexConfig", {})
    cls["invertedIndexConfig"].setdefault("bm25", {"b": 0.75, "k1": 1.2})
    cls["invertedIndexConfig"].setdefault("cleanupIntervalSeconds", 60)
    cls["invertedIndexConfig"].setdefault("stopwords", {"preset": "en", "additions": None, "removals": None})
    cls.setdefault("multiTenancyConfig", {"enabled": False, "autoTenantCreation": False,
                                          "autoTenantActivation": False})
    cls.setdefault("replicationConfig", {"factor": 1, "asyncEnabled": False,
                                         "deletionStrategy": "NoAutomatedResolution"})
    cls.setdefault("shardingConfig", {"virtualPerPhysical": 128, "desiredCount": 1, "actualCount": 1,
                                      "desiredVirtualCount": 128, "actualVirtualCount": 128, "key": "_id",
                                      "strategy": "hash", "function": "murmur3"})
    if "vectorConfig" in cls:
        for named in cls["vectorConfig"].values():
            named.setdefault("vectorIndexType", "hnsw")
            given = named.get("vectorIndexConfig") or {}
            named["vectorIndexConfig"] = {**_hnsw_defaults(given.get("distance", "cosine")), **given}
    else:
        cls.setdefault("vectorizer", "none")
        cls.setdefault("vectorIndexType", "hnsw")
        given = cls.get("vectorIndexConfig") or {}
        cls["vectorIndexConfig"] = {**_hnsw_defaults(given.get("distance", "cosine")), **given}
    cls.setdefault("moduleConfig", {})
    return cls


def _check_property(prop: dict[str, Any], cls_name: str) -> None:
    name = prop.get("name", "")
    if not PROPERTY_NAME.match(name) or len(name) > 231:
        raise WeaviateError(f"'{name}' is not a valid property name. Property names in Weaviate are "
                            "restricted to valid GraphQL names, which must be “/[_A-Za-z][_0-9A-Za-z]{0,230}/”.")
    if name in RESERVED_PROPERTIES:
        raise WeaviateError(f"'{name}' is a reserved property name")
    data_type = (prop.get("dataType") or [None])[0]
    if data_type not in DATA_TYPES:
        raise WeaviateError(f"property '{name}' of class '{cls_name}': unsupported data type {data_type!r}")


@dataclass
class StoredObject:
    properties: dict[str, Any]
    vectors: dict[str, np.ndarray]  # vector name ("default" for an unnamed vector) -> float32


@dataclass
class Collection:
    definition: dict[str, Any]
    tenants: dict[str, str] = field(default_factory=dict)  # name -> activity status
    shards: dict[str, dict[str, StoredObject]] = field(default_factory=dict)  # tenant or "" -> uuid -> object
    dims: dict[str, int] = field(default_factory=dict)  # vector name -> length, fixed by the first insert

    @property
    def name(self) -> str:
        return self.definition["class"]

    @property
    def multi_tenant(self) -> bool:
        return bool(self.definition.get("multiTenancyConfig", {}).get("enabled"))

    @property
    def named_vectors(self) -> bool:
        return "vectorConfig" in self.definition

    def distance(self, vector_name: str) -> str:
        if self.named_vectors:
            if vector_name not in self.definition["vectorConfig"]:
                raise WeaviateError(f"target vector {vector_name!r} not found in class {self.name}")
            return self.definition["vectorConfig"][vector_name]["vectorIndexConfig"]["distance"]
        return self.definition["vectorIndexConfig"]["distance"]

    def property_types(self) -> dict[str, str]:
        return {p["name"]: p["dataType"][0] for p in self.definition["properties"]}

    def shard(self, tenant: str) -> dict[str, StoredObject]:
        """The objects of ``tenant`` - with the multi-tenancy checks every request gets."""
        if self.multi_tenant:
            if not tenant:
                raise WeaviateError(f"class {self.name} has multi-tenancy enabled, but request was without tenant")
            if tenant not in self.tenants:
                raise WeaviateError(f"tenant not found: \"{tenant}\"")
            return self.shards.setdefault(tenant, {})
        if tenant:
            raise WeaviateError(f"class {self.name} has multi-tenancy disabled, but request was with tenant")
        return self.shards.setdefault("", {})


def coerce_value(cls: str, name: str, data_type: str, value: Any) -> Any:
    """``value`` as a ``data_type`` property holds it, or WeaviateError as the node refuses it."""
    def refuse(kind: str) -> WeaviateError:
        return WeaviateError(f"invalid {data_type} property '{name}' on class '{cls}': "
                             f"requires {kind}, got {type(value).__name__}")  # wording: guess

    base, is_list = data_type.rstrip("[]"), data_type.endswith("[]")
    values = value if is_list else [value]
    if is_list and not isinstance(value, list):
        raise refuse("an array")
    out = []
    for item in values:
        if base in ("text", "date", "uuid", "blob"):
            if not isinstance(item, str):
                raise refuse("a string")
            if base == "uuid":
                uuid.UUID(item)
        elif base == "boolean":
            if not isinstance(item, bool):
                raise refuse("a boolean")
        elif base == "int":
            if isinstance(item, bool) or not isinstance(item, (int, float)) or float(item) != int(item):
                raise refuse("an integer")
            item = int(item)
        elif base == "number":
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise refuse("a number")
            item = float(item)
        out.append(item)
    return out if is_list else out[0]


class Node:
    """One Weaviate node's schema and data, shared by its REST and gRPC front ends."""

    def __init__(self) -> None:
        self.collections: dict[str, Collection] = {}
        self.lock = threading.RLock()

    def get(self, name: str) -> Collection:
        found = self.collections.get(name) or next(
            (c for n, c in self.collections.items() if n.lower() == name.lower()), None)
        if found is None:
            raise WeaviateError(f"could not find class {name} in schema", status=404)
        return found

    def create(self, definition: dict[str, Any]) -> dict[str, Any]:
        name = definition.get("class", "")
        if not CLASS_NAME.match(name) or len(name) > 255:
            raise WeaviateError(f"'{name}' is not a valid class name")
        if any(n.lower() == name.lower() for n in self.collections):
            raise WeaviateError(f"class name {name} already exists")
        for prop in definition.get("properties") or []:
            _check_property(prop, name)
        for named in (definition.get("vectorConfig") or {}).values():
            if named.get("vectorIndexConfig", {}).get("distance", "cosine") not in DISTANCES:
                raise WeaviateError(f"unsupported distance {named['vectorIndexConfig']['distance']!r}")
        collection = Collection(_with_server_defaults(definition))
        with self.lock:
            self.collections[name] = collection
        return collection.definition

    def delete(self, name: str) -> None:
        """Drop a collection and its objects; deleting a missing one is not an error."""
        with self.lock:
            for existing in [n for n in self.collections if n.lower() == name.lower()]:
                del self.collections[existing]

    def add_property(self, name: str, prop: dict[str, Any]) -> dict[str, Any]:
        collection = self.get(name)
        _check_property(prop, collection.name)
        if prop["name"].lower() in (p["name"].lower() for p in collection.definition["properties"]):
            raise WeaviateError(f"class '{collection.name}' already has a property named '{prop['name']}'")
        with self.lock:
            collection.definition["properties"].append(_with_server_defaults({"class": "X", "properties": [prop]})
                                                       ["properties"][0])
        return prop

    def add_tenants(self, name: str, tenants: list[dict[str, Any]]) -> None:
        collection = self.get(name)
        if not collection.multi_tenant:
            raise WeaviateError(f"multi-tenancy is not enabled for class \"{collection.name}\"")
        for tenant in tenants:
            if not TENANT_NAME.match(tenant.get("name", "")):
                raise WeaviateError(f"tenant name \"{tenant.get('name')}\" should only contain alphanumeric "
                                    "characters (a-z, A-Z, 0-9), underscore (_), and hyphen (-), with a length "
                                    "between 1 and 64 characters")
        with self.lock:
            for tenant in tenants:
                collection.tenants.setdefault(tenant["name"], tenant.get("activityStatus", "HOT"))

    def put(self, cls: str, tenant: str, object_id: str, properties: dict[str, Any],
            vectors: dict[str, np.ndarray]) -> None:
        """Insert or replace one object (batch import is an upsert by id)."""
        collection = self.get(cls)
        try:
            if str(uuid.UUID(object_id)) != object_id.lower():
                raise ValueError
        except ValueError:
            raise WeaviateError(f"invalid UUID length: {len(object_id)}") from None
        types = collection.property_types()
        stored = {}
        for key, value in properties.items():
            if key not in types:
                raise WeaviateError(f"no such prop with name '{key}' found in class '{collection.name}' in the "
                                    "schema. Check your schema files for which properties in this class are available")
            stored[key] = coerce_value(collection.name, key, types[key], value)
        for name, vector in vectors.items():
            collection.distance(name)  # refuses an unknown target vector
            expected = collection.dims.get(name)
            if expected is not None and expected != len(vector):
                raise WeaviateError(f"new node has a vector with length {len(vector)}. "
                                    f"Existing nodes have vectors with length {expected}")
        with self.lock:
            shard = collection.shard(tenant)
            for name, vector in vectors.items():
                collection.dims.setdefault(name, len(vector))
            shard[object_id.lower()] = StoredObject(stored, vectors)
