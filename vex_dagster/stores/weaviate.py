"""weaviate: Weaviate through the official ``weaviate-client`` v4 (REST + gRPC).

Mapping (DESIGN §3):
- collection names are capitalised and cleaned to ``^[A-Z][_0-9A-Za-z]*$`` (said in
  the log). New collections get a self-provided named vector (``vector_name``,
  default ``default``) with an HNSW index of the records' metric, and properties for
  the text (``text_key``), the namespace, the original id and the other vmig fields.
- ids: UUIDs stay; any other id becomes a UUIDv5 and the original is kept in the
  ``vex_id`` property and restored on export.
- namespace: a tenant when the collection is multi-tenant (``--tenants`` creates new
  collections so; records without a namespace go to tenant ``vex_default``), else
  the ``namespace`` property.
- metadata: each key Weaviate can type (text, int up to 2^53, number, boolean and
  their non-empty arrays, under a legal property name) becomes a property of that
  type, added to the schema the first time it is seen, so it stays filterable in
  Weaviate. Anything else - null, nested objects, mixed lists, a value whose type
  differs from its property's - travels as JSON in ``vex_packed`` (MetadataCodec),
  so A -> Weaviate -> A gives back the same metadata.
- writes: ``insert_many`` (one gRPC BatchObjects call; an upsert by id) per request
  of at most 1,000 objects and ``max_request_bytes``; every per-object error is
  collected and reported by record id. Export uses the client's cursor iterator.
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, Neighbour, Setting, Store, StoreError, StoreUnavailable, check_dims,
)
from vex_dagster.stores.ids import uuid_id
from vex_dagster.stores.metadata_codec import MARKER, MetadataCodec
from vex_dagster.stores.retry import is_connection_error, retry_call
from vex_dagster.vmig.record import Record

log = logging.getLogger("vex.weaviate")

MAX_BATCH_OBJECTS = 1000
DEFAULT_REQUEST_BYTES = 8 * 1024 * 1024  # under the gRPC message limit a node sets (GRPC_MAX_MESSAGE_SIZE)
NAMESPACE_PROP, ID_PROP, RECORD_PROP, PACKED_PROP = "namespace", "vex_id", "vex_record", "vex_packed"
DEFAULT_TENANT = "vex_default"
#: Weaviate allows ``[_A-Za-z][_0-9A-Za-z]*`` but may lowercase a first capital and reserves a
#: leading ``_`` for itself; vex keeps natively only names that come back unchanged.
PROPERTY_NAME = re.compile(r"^[a-z][_0-9A-Za-z]{0,230}$")
RESERVED_NAMES = frozenset({"id", "_id", "_additional", "meta", "vector"})
TENANT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
METRICS = {"cosine": "cosine", "dot": "dot", "euclidean": "l2-squared"}  # l2-squared ranks as euclidean
FROM_WEAVIATE = {v: k for k, v in METRICS.items()}


def collection_name(collection: str) -> str:
    """Weaviate collection names start with a capital letter, then letters, digits and '_'."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", collection)
    if not name or not name[0].isalpha():
        name = "C" + name
    name = name[0].upper() + name[1:]
    if name != collection:
        log.info("Weaviate collection name for %r is %r", collection, name)
    return name


def weaviate_type(value: Any) -> str | None:
    """The Weaviate data type that holds ``value`` exactly, or None if none does."""
    kind = type(value)
    if kind is str:
        return "text"
    if kind is bool:
        return "boolean"
    if kind is int:
        return "int" if abs(value) <= 2**53 else None  # scalars travel as doubles over gRPC
    if kind is float:
        return "number"
    if kind is list and value:
        inner = {weaviate_type(v) for v in value}
        if len(inner) == 1 and (base := inner.pop()) in ("text", "boolean", "int", "number"):
            return base + "[]"
    return None


def _plain(value: Any) -> Any:
    """A property value as JSON: dates as ISO text, UUIDs as text, geo as an object."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "latitude") and hasattr(value, "longitude"):
        return {"latitude": value.latitude, "longitude": value.longitude}
    return value


def _is_transient(exc: BaseException) -> bool:
    if is_connection_error(exc) or type(exc).__name__ in ("WeaviateTimeoutError", "WeaviateConnectionError"):
        return True
    return getattr(exc, "status_code", None) in (429, 500, 502, 503, 504)


class _Schema:
    """What vex needs to know of one collection: tenancy, vector naming, property types,
    and the metadata codec those types imply."""

    def __init__(self, config, vector_name: str, reserved: frozenset[str]):
        self.multi_tenant = config.multi_tenancy_config.enabled
        self.property_types = {p.name: p.data_type.value for p in config.properties}
        self.codec = MetadataCodec(can_hold=lambda v: weaviate_type(v) is not None, reserved=reserved,
                                   fits=self.fits)
        if config.vector_config:
            names = list(config.vector_config)
            self.vector_name = vector_name if vector_name in names else names[0]
            if vector_name not in names and len(names) > 1:
                raise StoreError(f"collection {config.name} has named vectors {names}; choose one with --vector-name")
            self.named = True
            self.distance = config.vector_config[self.vector_name].vector_index_config.distance_metric.value
        else:
            self.vector_name, self.named = "default", False
            index = config.vector_index_config
            self.distance = index.distance_metric.value if index is not None else "cosine"

    def fits(self, key: str, value: Any) -> bool:
        """A native property for ``key``: a legal name whose schema type holds ``value``."""
        if not PROPERTY_NAME.match(key) or key in RESERVED_NAMES:
            return False
        declared = self.property_types.get(key)
        if declared is None:  # a new property, unless it differs from one only by case
            return key.lower() not in {name.lower() for name in self.property_types}
        return declared == weaviate_type(value)


class WeaviateStore(Store):
    name = "weaviate"
    settings = (
        Setting("url", "REST URL: http://host:8080 for a local node, https://... for Weaviate Cloud",
                "http://localhost:8080"),
        Setting("grpc_port", "gRPC port of a local node (Weaviate Cloud needs none)", 50051, type=int),
        Setting("api_key", "API key (Weaviate Cloud, or a node with API-key auth); prefer the variable",
                secret=True),
        Setting("text_key", "property holding the record's text", "text"),
        Setting("tenants", "create new collections multi-tenant, one tenant per namespace", False, type=bool),
        Setting("vector_name", "the named vector to read and write", "default"),
        Setting("max_request_bytes", "bytes per batch request, under the node's gRPC message limit",
                DEFAULT_REQUEST_BYTES, type=int),
    )

    def __init__(self, url: str = "http://localhost:8080", grpc_port: int = 50051, api_key: str | None = None,
                 text_key: str = "text", tenants: bool = False, vector_name: str = "default",
                 max_request_bytes: int = DEFAULT_REQUEST_BYTES):
        import weaviate
        from weaviate.classes.init import Auth

        self.url, self.text_key, self.tenants, self.vector_name = url, text_key, tenants, vector_name
        self.max_request_bytes = max_request_bytes
        parts = urlsplit(url if "://" in url else f"http://{url}")
        auth = Auth.api_key(api_key) if api_key else None
        try:
            if parts.scheme == "https" and parts.hostname not in ("localhost", "127.0.0.1"):
                self._client = weaviate.connect_to_weaviate_cloud(
                    cluster_url=url, auth_credentials=auth, skip_init_checks=True)
            else:
                self._client = weaviate.connect_to_custom(
                    http_host=parts.hostname, http_port=parts.port or (443 if parts.scheme == "https" else 8080),
                    http_secure=parts.scheme == "https", grpc_host=parts.hostname, grpc_port=grpc_port,
                    grpc_secure=parts.scheme == "https", auth_credentials=auth,
                    skip_init_checks=True)  # the init checks call pypi.org; failures surface on first use
        except Exception as exc:  # noqa: BLE001 - the client raises several startup error types
            if type(exc).__name__ == "WeaviateStartUpError" or is_connection_error(exc):
                raise StoreUnavailable(f"could not reach Weaviate at {url} (is it running? is --url right?)") from exc
            raise StoreError(f"weaviate settings refused: {exc}") from exc
        self._reserved = frozenset({text_key, NAMESPACE_PROP, ID_PROP, RECORD_PROP, PACKED_PROP})
        self._schemas: dict[str, _Schema] = {}
        self._known_tenants: dict[str, set[str]] = {}

    def close(self) -> None:
        self._client.close()

    def source_info(self, collection: str) -> dict[str, Any]:
        return {"collection": collection_name(collection), "url": self.url}

    def _call(self, what: str, fn):
        try:
            return retry_call(fn, is_transient=_is_transient, what=f"weaviate {what}")
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - the client's errors become one clear line
            raise self._failure(what, exc) from exc

    def _failure(self, what: str, exc: Exception) -> StoreError:
        if is_connection_error(exc) or "Connect" in type(exc).__name__:
            return StoreUnavailable(f"weaviate {what} failed: could not reach {self.url} ({type(exc).__name__})")
        return StoreError(f"weaviate {what} failed: {exc}")

    # -- collections -------------------------------------------------------------------
    def _collection(self, collection: str):
        return self._client.collections.use(collection_name(collection))

    def _schema(self, collection: str) -> _Schema:
        name = collection_name(collection)
        if name not in self._schemas:
            if not self._call("exists", lambda: self._client.collections.exists(name)):
                raise CollectionNotFound(f"weaviate collection {name!r} does not exist")
            config = self._call("get config", lambda: self._collection(collection).config.get())
            self._schemas[name] = _Schema(config, self.vector_name, self._reserved)
        return self._schemas[name]

    def _tenants(self, collection: str) -> list[str]:
        found = self._call("list tenants", lambda: self._collection(collection).tenants.get())
        return sorted(found)

    def _views(self, collection: str, namespace: str | None) -> list[tuple[Any, str | None]]:
        """(collection handle, namespace it holds) to read: one per tenant, or the collection."""
        handle = self._collection(collection)
        if not self._schema(collection).multi_tenant:
            return [(handle, namespace)]
        tenants = [self._tenant(namespace)] if namespace is not None else self._tenants(collection)
        return [(handle.with_tenant(t), None if t == DEFAULT_TENANT else t) for t in tenants]

    @staticmethod
    def _tenant(namespace: str | None) -> str:
        if namespace is None or namespace == "":
            return DEFAULT_TENANT
        if not TENANT_NAME.match(namespace):
            raise StoreError(f"namespace {namespace!r} cannot be a Weaviate tenant (1-64 letters, digits, '_' "
                             "or '-'); import into a collection without multi-tenancy instead")
        return namespace

    def _dims(self, collection: str) -> int | None:
        schema = self._schema(collection)
        for handle, _ in self._views(collection, None):
            found = self._call("fetch", lambda: handle.query.fetch_objects(limit=1, include_vector=True)).objects
            if found:
                vector = found[0].vector.get(schema.vector_name)
                return None if vector is None else len(vector)
        return None

    def describe(self, collection: str) -> CollectionInfo:
        schema = self._schema(collection)
        namespaces: dict[str, int] = {}
        if schema.multi_tenant:
            for handle, namespace in self._views(collection, None):
                count = self._call("count", lambda: handle.aggregate.over_all(total_count=True)).total_count
                namespaces[namespace or ""] = count
        else:
            handle = self._collection(collection)
            total = self._call("count", lambda: handle.aggregate.over_all(total_count=True)).total_count
            if NAMESPACE_PROP in schema.property_types:
                from weaviate.classes.aggregate import GroupByAggregate

                groups = self._call("count namespaces", lambda: handle.aggregate.over_all(
                    group_by=GroupByAggregate(prop=NAMESPACE_PROP), total_count=True)).groups
                namespaces = {str(g.grouped_by.value): g.total_count for g in groups}
            if total - sum(namespaces.values()):
                namespaces[""] = total - sum(namespaces.values())
        namespaces = dict(sorted(namespaces.items()))
        return CollectionInfo(collection_name(collection), self._dims(collection),
                              FROM_WEAVIATE.get(schema.distance, schema.distance), sum(namespaces.values()),
                              namespaces)

    def open_collection(self, collection, dims, metric="cosine", create=True) -> None:
        self._cap_request_bytes()
        try:
            self._schema(collection)
            check_dims(collection, self._dims(collection), dims)
            return
        except CollectionNotFound:
            if not create:
                raise
        from weaviate.classes.config import Configure, DataType, Property, Tokenization, VectorDistances

        def stored_only(name: str) -> Property:  # vex's own bookkeeping: kept, never searched
            return Property(name=name, data_type=DataType.TEXT, index_filterable=False,
                            index_searchable=False, skip_vectorization=True)

        properties = [Property(name=self.text_key, data_type=DataType.TEXT),
                      Property(name=ID_PROP, data_type=DataType.TEXT, tokenization=Tokenization.FIELD),
                      stored_only(RECORD_PROP), stored_only(PACKED_PROP)]
        if not self.tenants:
            properties.append(Property(name=NAMESPACE_PROP, data_type=DataType.TEXT, tokenization=Tokenization.FIELD))
        name = collection_name(collection)
        self._call("create collection", lambda: self._client.collections.create(
            name, properties=properties,
            vector_config=Configure.Vectors.self_provided(
                name=self.vector_name,
                vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances(METRICS[metric or "cosine"]))),
            multi_tenancy_config=Configure.multi_tenancy(enabled=True) if self.tenants else None))
        log.info("created Weaviate collection %s%s", name, " (multi-tenant)" if self.tenants else "")

    # -- records -> objects ------------------------------------------------------------
    def _declare_properties(self, collection: str, records: list[Record]) -> None:
        """Add a typed property for each metadata key seen for the first time."""
        from weaviate.classes.config import DataType, Property

        schema = self._schema(collection)
        for record in records:
            for key, value in (record.metadata or {}).items():
                kind = weaviate_type(value)
                if key in schema.property_types or kind is None or key in self._reserved \
                        or not schema.fits(key, value):
                    continue
                self._call("add property", lambda: self._collection(collection).config.add_property(
                    Property(name=key, data_type=DataType(kind))))
                schema.property_types[key] = kind

    def _properties(self, record: Record, schema: _Schema) -> dict[str, Any]:
        properties = schema.codec.encode(record.metadata)
        if MARKER in properties:
            properties[PACKED_PROP] = properties.pop(MARKER)
        if record.text is not None:
            properties[self.text_key] = record.text
        if not schema.multi_tenant and record.namespace is not None:
            properties[NAMESPACE_PROP] = record.namespace
        store_id, mapped = uuid_id(record.id)
        if mapped:
            properties[ID_PROP] = record.id
        properties[RECORD_PROP] = orjson.dumps({
            "model": record.model, "created_at": record.created_at, "source_store": record.source_store,
            "modality": record.modality, "score": record.score, "vex_version": record.vex_version,
            "sparse_vector": record.sparse_vector, "extra": record.extra or None,
            **({"namespace": ""} if record.namespace == "" else {}),
        }).decode()
        return properties

    def _requests(self, records: list[Record], schema: _Schema) -> Iterator[tuple[str | None, list]]:
        """(tenant, [(record id, DataObject)]) within 1,000 objects and max_request_bytes each."""
        from weaviate.classes.data import DataObject

        by_tenant: dict[str | None, list] = {}
        for record in records:
            properties = self._properties(record, schema)
            vector = None if record.vector is None else record.vector.tolist()
            if vector is not None and schema.named:
                vector = {schema.vector_name: vector}
            item = (record.id, DataObject(properties=properties, uuid=uuid_id(record.id)[0], vector=vector),
                    len(orjson.dumps(properties)) + 8 * (0 if record.vector is None else len(record.vector)) + 256)
            by_tenant.setdefault(self._tenant(record.namespace) if schema.multi_tenant else None, []).append(item)
        for tenant, items in by_tenant.items():
            batch, size = [], 0
            for rid, obj, item_size in items:
                if batch and (len(batch) == MAX_BATCH_OBJECTS or size + item_size > self.max_request_bytes):
                    yield tenant, batch
                    batch, size = [], 0
                batch.append((rid, obj))
                size += item_size
            if batch:
                yield tenant, batch

    def _cap_request_bytes(self) -> None:
        """Stay under the node's own gRPC message limit, which /v1/meta reports."""
        limit = int(self._call("meta", self._client.get_meta).get("grpcMaxMessageSize") or 0)
        if limit and self.max_request_bytes > limit * 0.9:
            self.max_request_bytes = int(limit * 0.9)
            log.info("batches kept under %s bytes, the node's gRPC message limit", f"{limit:,}")

    def _ensure_tenant(self, collection: str, tenant: str) -> None:
        from weaviate.classes.tenants import Tenant

        known = self._known_tenants.setdefault(collection_name(collection), set(self._tenants(collection)))
        if tenant not in known:
            self._call("create tenant", lambda: self._collection(collection).tenants.create([Tenant(name=tenant)]))
            known.add(tenant)

    def write_batch(self, collection, records) -> None:
        from weaviate.exceptions import WeaviateInsertManyAllFailedError

        self._declare_properties(collection, records)
        schema = self._schema(collection)
        for tenant, items in self._requests(records, schema):
            handle = self._collection(collection)
            if tenant is not None:
                self._ensure_tenant(collection, tenant)
                handle = handle.with_tenant(tenant)
            objects = [obj for _, obj in items]
            span = f"{items[0][0]!r}" + (f" .. {items[-1][0]!r}" if len(items) > 1 else "")
            try:
                result = self._call("batch import", lambda: handle.data.insert_many(objects))
            except StoreError as exc:
                if isinstance(exc.__cause__, WeaviateInsertManyAllFailedError):
                    raise StoreError(f"weaviate refused all {len(items)} objects ({span}): "
                                     f"{exc.__cause__}") from exc.__cause__
                if "larger than max" in str(exc) or "RESOURCE_EXHAUSTED" in str(exc):
                    raise StoreError(f"a batch of {len(items)} objects ({span}) is over the node's gRPC message "
                                     f"limit (GRPC_MAX_MESSAGE_SIZE): {exc}") from exc
                raise
            if result.errors:
                failures = [f"{items[i][0]!r}: {error.message}" for i, error in sorted(result.errors.items())]
                raise StoreError(f"weaviate refused {len(failures)} of {len(items)} objects: "
                                 + "; ".join(failures[:10]) + (" ..." if len(failures) > 10 else ""))

    # -- objects -> records ------------------------------------------------------------
    def _to_record(self, obj, namespace: str | None, schema: _Schema) -> Record:
        properties = dict(obj.properties)
        text = properties.pop(self.text_key, None)
        stash = orjson.loads(properties.pop(RECORD_PROP)) if properties.get(RECORD_PROP) else {}
        original = properties.pop(ID_PROP, None)
        if not schema.multi_tenant:
            namespace = properties.pop(NAMESPACE_PROP, None)
        packed = properties.pop(PACKED_PROP, None)
        metadata = {k: _plain(v) for k, v in properties.items() if v is not None}  # absent properties read as null
        if packed:
            metadata[MARKER] = packed
        vector = (obj.vector or {}).get(schema.vector_name)
        return Record(
            id=original or str(obj.uuid), vector=None if vector is None else np.asarray(vector, dtype=np.float32),
            text=text, namespace=stash.get("namespace", namespace), metadata=schema.codec.decode(metadata),
            model=stash.get("model"), created_at=stash.get("created_at"),
            source_store=stash.get("source_store") or "weaviate", modality=stash.get("modality") or "text",
            score=stash.get("score"), vex_version=stash.get("vex_version") or Record.vex_version,
            sparse_vector=stash.get("sparse_vector"), extra=stash.get("extra") or {},
        )

    def iter_batches(self, collection, namespace=None, batch_size=1000) -> Iterator[list[Record]]:
        """Every object through the cursor iterator; a namespace of a single-tenant
        collection is picked out client-side (the cursor API takes no filter)."""
        schema = self._schema(collection)
        batch: list[Record] = []
        for handle, held in self._views(collection, namespace):
            objects = handle.iterator(include_vector=True, cache_size=batch_size)
            while True:  # the client retries each page itself; a failure ends the export clearly
                try:
                    obj = next(objects)
                except StopIteration:
                    break
                except Exception as exc:  # noqa: BLE001
                    raise self._failure("read", exc) from exc
                record = self._to_record(obj, held, schema)
                if namespace is not None and not schema.multi_tenant and (record.namespace or "") != namespace:
                    continue
                batch.append(record)
                if len(batch) == batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def search(self, collection, vector, k=10, namespace=None) -> list[Neighbour]:
        from weaviate.classes.query import Filter, MetadataQuery

        schema = self._schema(collection)
        found = []
        for handle, _ in self._views(collection, namespace):
            where = (Filter.by_property(NAMESPACE_PROP).equal(namespace)
                     if namespace and not schema.multi_tenant else None)
            result = self._call("query", lambda: handle.query.near_vector(
                np.asarray(vector, np.float32).tolist(), limit=k, filters=where,
                target_vector=schema.vector_name if schema.named else None,
                return_metadata=MetadataQuery(distance=True), return_properties=[ID_PROP]))
            found += result.objects
        # Weaviate answers distances; vex ranks by similarity (higher is nearer)
        score = (lambda d: 1.0 - d) if schema.distance == "cosine" else (lambda d: -d)
        hits = [Neighbour(o.properties.get(ID_PROP) or str(o.uuid), score(o.metadata.distance)) for o in found]
        return sorted(hits, key=lambda n: -n.score)[:k]

    def fetch(self, collection, ids, namespace=None) -> list[Record]:
        from weaviate.classes.query import Filter

        schema = self._schema(collection)
        found = []
        for handle, held in self._views(collection, namespace):
            for start in range(0, len(ids), 100):
                part = [uuid_id(i)[0] for i in ids[start : start + 100]]
                objects = self._call("fetch", lambda: handle.query.fetch_objects(
                    filters=Filter.by_id().contains_any(part), limit=len(part), include_vector=True)).objects
                found += [self._to_record(o, held, schema) for o in objects]
        return found
