"""Weaviate's gRPC service (``weaviate.v1.Weaviate``) over the emulated node.

Built on the generated stubs that ship inside ``weaviate-client``, so requests and
replies are exactly the messages the v4 client sends and parses: BatchObjects
(per-object errors by index), Search (cursor with ``after``, ``near_vector``,
filters, uuid/vector/distance metadata), Aggregate (count, optionally grouped by a
property) and TenantsGet. Messages over ``max_message_bytes`` are refused by gRPC
itself with RESOURCE_EXHAUSTED, as a node refuses what exceeds GRPC_MAX_MESSAGE_SIZE.
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import numpy as np
from google.protobuf import json_format

from vex_dagster.testing.weaviate_emulator.state import Collection, Node, StoredObject, WeaviateError

from weaviate.proto.v1 import (  # isort: skip  (generated stubs from the client wheel)
    aggregate_pb2, base_pb2, batch_pb2, properties_pb2, search_get_pb2, tenants_pb2, weaviate_pb2_grpc,
)

Filters = base_pb2.Filters


def _float32s(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").copy()


def _object_properties(props: batch_pb2.BatchObject.Properties) -> dict[str, Any]:
    """The python values of a BatchObject's properties, however the client typed them."""
    values: dict[str, Any] = json_format.MessageToDict(props.non_ref_properties) if props.HasField(
        "non_ref_properties") else {}
    for array in props.text_array_properties:
        values[array.prop_name] = list(array.values)
    for array in props.int_array_properties:
        values[array.prop_name] = [int(v) for v in array.values]
    for array in props.number_array_properties:
        values[array.prop_name] = (np.frombuffer(array.values_bytes, "<f8").tolist() if array.values_bytes
                                   else list(array.values))
    for array in props.boolean_array_properties:
        values[array.prop_name] = list(array.values)
    for name in props.empty_list_props:
        values[name] = []
    if props.object_properties or props.object_array_properties or props.single_target_ref_props:
        raise WeaviateError("object and reference properties are not emulated")  # a limit of this emulator
    return values


def _object_vectors(obj: batch_pb2.BatchObject, collection: Collection) -> dict[str, np.ndarray]:
    vectors = {v.name or "default": _float32s(v.vector_bytes) for v in obj.vectors}
    if obj.vector_bytes or obj.vector:
        if collection.named_vectors:  # guess: an unnamed vector for a named-vector class is refused
            raise WeaviateError(f"collection {collection.name} is configured with named vectors; "
                                "pass the vector by name")
        vectors["default"] = _float32s(obj.vector_bytes) if obj.vector_bytes else np.asarray(obj.vector, "<f4")
    return vectors


def _value(value: Any, data_type: str) -> properties_pb2.Value:
    """A stored value as Search returns it (typed per the schema, as 1.25+ nodes do)."""
    if data_type.endswith("[]"):
        base = data_type[:-2]
        if base == "int":
            listed = properties_pb2.ListValue(int_values=properties_pb2.IntValues(
                values=np.asarray(value, "<i8").tobytes()))
        elif base == "number":
            listed = properties_pb2.ListValue(number_values=properties_pb2.NumberValues(
                values=np.asarray(value, "<f8").tobytes()))
        elif base == "boolean":
            listed = properties_pb2.ListValue(bool_values=properties_pb2.BoolValues(values=value))
        elif base == "date":
            listed = properties_pb2.ListValue(date_values=properties_pb2.DateValues(values=value))
        elif base == "uuid":
            listed = properties_pb2.ListValue(uuid_values=properties_pb2.UuidValues(values=value))
        else:
            listed = properties_pb2.ListValue(text_values=properties_pb2.TextValues(values=value))
        return properties_pb2.Value(list_value=listed)
    field = {"text": "text_value", "int": "int_value", "number": "number_value", "boolean": "bool_value",
             "date": "date_value", "uuid": "uuid_value", "blob": "blob_value"}[data_type]
    return properties_pb2.Value(**{field: value})


def _matches(filters: Filters, object_id: str, obj: StoredObject) -> bool:
    op = filters.operator
    if op == Filters.OPERATOR_AND:
        return all(_matches(f, object_id, obj) for f in filters.filters)
    if op == Filters.OPERATOR_OR:
        return any(_matches(f, object_id, obj) for f in filters.filters)
    path = filters.target.property or (filters.on[0] if filters.on else "")
    actual = object_id if path == "_id" else obj.properties.get(path)
    kind = filters.WhichOneof("test_value")
    expected = getattr(filters, kind) if kind else None
    if kind and kind.endswith("_array"):
        expected = list(expected.values)
    if op == Filters.OPERATOR_EQUAL:
        return actual == expected
    if op == Filters.OPERATOR_NOT_EQUAL:
        return actual != expected
    if op == Filters.OPERATOR_IS_NULL:
        return (actual is None) == bool(expected)
    if op in (Filters.OPERATOR_CONTAINS_ANY, Filters.OPERATOR_CONTAINS_ALL):
        have = set(actual if isinstance(actual, list) else [actual])
        wanted = set(expected)
        return bool(have & wanted) if op == Filters.OPERATOR_CONTAINS_ANY else wanted <= have
    raise WeaviateError(f"filter operator {Filters.Operator.Name(op)} is not emulated")


def _distance(metric: str, query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(query)
        return 1.0 - (vectors @ query) / np.where(norms == 0, 1.0, norms)
    if metric == "dot":
        return -(vectors @ query)
    if metric == "l2-squared":
        return ((vectors - query) ** 2).sum(axis=1)
    raise WeaviateError(f"distance {metric!r} is not emulated")


def _near_vector(request: search_get_pb2.SearchRequest) -> tuple[str | None, np.ndarray]:
    near = request.near_vector
    target = near.targets.target_vectors[0] if near.targets.target_vectors else (
        near.target_vectors[0] if near.target_vectors else None)
    if near.vectors:
        return target, _float32s(near.vectors[0].vector_bytes)
    if near.vector_bytes:
        return target, _float32s(near.vector_bytes)
    return target, np.asarray(near.vector, "<f4")


class WeaviateService(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, node: Node):
        self.node = node

    @staticmethod
    def _abort(context: grpc.ServicerContext, error: WeaviateError):
        code = grpc.StatusCode.NOT_FOUND if error.status == 404 else grpc.StatusCode.INVALID_ARGUMENT
        context.abort(code, error.message)

    def BatchObjects(self, request: batch_pb2.BatchObjectsRequest, context) -> batch_pb2.BatchObjectsReply:
        errors = []
        for index, obj in enumerate(request.objects):
            try:
                collection = self.node.get(obj.collection)
                self.node.put(collection.name, obj.tenant, obj.uuid, _object_properties(obj.properties),
                              _object_vectors(obj, collection))
            except WeaviateError as error:
                errors.append(batch_pb2.BatchObjectsReply.BatchError(index=index, error=error.message))
        return batch_pb2.BatchObjectsReply(took=0.0, errors=errors)

    def Search(self, request: search_get_pb2.SearchRequest, context) -> search_get_pb2.SearchReply:
        try:
            return self._search(request)
        except WeaviateError as error:
            self._abort(context, error)

    def _search(self, request: search_get_pb2.SearchRequest) -> search_get_pb2.SearchReply:
        collection = self.node.get(request.collection)
        with self.node.lock:
            items = sorted(collection.shard(request.tenant).items())
        if request.after:
            if request.HasField("filters") or request.HasField("near_vector") or request.sort_by:
                raise WeaviateError("explorer: list class: search: invalid pagination params: other params "
                                    "cannot be set along with 'after' param")  # wording: guess
            items = [(i, o) for i, o in items if i > request.after.lower()]
        if request.HasField("filters"):
            items = [(i, o) for i, o in items if _matches(request.filters, i, o)]
        distances: list[float | None] = [None] * len(items)
        if request.HasField("near_vector"):
            target, query = _near_vector(request)
            target = target or next(iter(collection.dims), "default")
            items = [(i, o) for i, o in items if target in o.vectors]
            if items:
                found = _distance(collection.distance(target), query,
                                  np.stack([o.vectors[target] for _, o in items]))
                order = np.argsort(found, kind="stable")
                items, distances = [items[k] for k in order], [float(found[k]) for k in order]
        limit = request.limit or 10  # QUERY_DEFAULTS_LIMIT
        return search_get_pb2.SearchReply(took=0.0, results=[
            self._result(collection, request, object_id, obj, distance)
            for (object_id, obj), distance in list(zip(items, distances))[request.offset : request.offset + limit]
        ])

    @staticmethod
    def _result(collection: Collection, request, object_id: str, obj: StoredObject, distance) -> search_get_pb2.SearchResult:
        types = collection.property_types()
        wanted = request.properties  # absent: every property, as the node does
        names = (list(obj.properties) if not request.HasField("properties") or wanted.return_all_nonref_properties
                 else [n for n in wanted.non_ref_properties if n in obj.properties])
        metadata = search_get_pb2.MetadataResult(id=object_id, id_as_bytes=uuid.UUID(object_id).bytes)
        if request.metadata.vector or request.metadata.vectors:
            if collection.named_vectors:
                metadata.vectors.extend(
                    base_pb2.Vectors(name=name, vector_bytes=vector.astype("<f4").tobytes(),
                                     type=base_pb2.Vectors.VECTOR_TYPE_SINGLE_FP32)
                    for name, vector in obj.vectors.items()
                    if not request.metadata.vectors or name in request.metadata.vectors)
            elif "default" in obj.vectors:
                metadata.vector_bytes = obj.vectors["default"].astype("<f4").tobytes()
        if distance is not None and request.metadata.distance:
            metadata.distance, metadata.distance_present = distance, True
        properties = properties_pb2.Properties(fields={n: _value(obj.properties[n], types[n]) for n in names})
        return search_get_pb2.SearchResult(
            metadata=metadata,
            properties=search_get_pb2.PropertiesResult(non_ref_props=properties, target_collection=collection.name))

    def Aggregate(self, request: aggregate_pb2.AggregateRequest, context) -> aggregate_pb2.AggregateReply:
        try:
            collection = self.node.get(request.collection)
            with self.node.lock:
                items = list(collection.shard(request.tenant).items())
        except WeaviateError as error:
            self._abort(context, error)
        if request.HasField("filters"):
            items = [(i, o) for i, o in items if _matches(request.filters, i, o)]
        if not request.HasField("group_by"):
            return aggregate_pb2.AggregateReply(single_result=aggregate_pb2.AggregateReply.Single(
                objects_count=len(items)))
        path = request.group_by.property
        counts: dict[Any, int] = {}
        for _, obj in items:
            value = obj.properties.get(path)
            if value is not None:  # objects without the property form no group
                counts[value] = counts.get(value, 0) + 1
        Group = aggregate_pb2.AggregateReply.Group
        return aggregate_pb2.AggregateReply(grouped_results=aggregate_pb2.AggregateReply.Grouped(groups=[
            Group(objects_count=count, grouped_by=Group.GroupedBy(path=[path], text=str(value)))
            for value, count in sorted(counts.items(), key=lambda kv: str(kv[0]))
        ]))

    def TenantsGet(self, request: tenants_pb2.TenantsGetRequest, context) -> tenants_pb2.TenantsGetReply:
        try:
            collection = self.node.get(request.collection)
        except WeaviateError as error:
            self._abort(context, error)
        names = set(request.names.values) if request.HasField("names") else None
        return tenants_pb2.TenantsGetReply(tenants=[
            tenants_pb2.Tenant(name=name, activity_status=tenants_pb2.TENANT_ACTIVITY_STATUS_HOT)
            for name in sorted(collection.tenants) if names is None or name in names
        ])
