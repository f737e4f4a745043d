"""The connector interface every store implements (DESIGN §3).

A connector streams: ``iter_batches`` yields lists of records, and writing goes
through ``open_collection`` / ``write_batch`` / ``finish`` so that the pipeline can
checkpoint after each committed batch. Upserts are by (namespace, id), so writing a
batch twice leaves one copy - that is what makes ``--resume`` safe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from vex_dagster.vmig.record import Record

METRICS = ("cosine", "dot", "euclidean")


class StoreError(RuntimeError):
    """A store refused or failed an operation; the message says what to do."""


class CollectionNotFound(StoreError):
    pass


class StoreUnavailable(StoreError):
    """The store could not be reached (refused, reset, gone); retried, then reported."""


class DimensionMismatch(StoreError):
    def __init__(self, collection: str, existing: int, incoming: int):
        super().__init__(
            f"collection {collection!r} holds {existing}-d vectors but the records are "
            f"{incoming}-d; re-embed them for this collection (--reembed --embed-model M) "
            f"or translate them with a drift adapter (--adapter), or choose another collection"
        )


@dataclass(frozen=True)
class Setting:
    """A connection setting: a CLI flag ``--name`` and env var ``VEX_<STORE>_<NAME>``."""

    name: str
    help: str
    default: Any = None
    secret: bool = False
    type: type = str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass
class CollectionInfo:
    name: str
    dims: int | None
    metric: str | None
    count: int
    namespaces: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Neighbour:
    id: str
    score: float


class Store(ABC):
    """A vector store, opened with its settings; close it (or use ``with``)."""

    name: ClassVar[str]
    settings: ClassVar[tuple[Setting, ...]] = ()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release connections; stores without any need not override."""

    def source_info(self, collection: str) -> dict[str, Any]:
        """What the meta file records under ``source`` (never secrets)."""
        return {"collection": collection}

    @abstractmethod
    def describe(self, collection: str) -> CollectionInfo:
        """Dims, metric, count and per-namespace counts; CollectionNotFound if absent."""

    @abstractmethod
    def iter_batches(
        self, collection: str, namespace: str | None = None, batch_size: int = 1000
    ) -> Iterator[list[Record]]:
        """Stream the records (of one namespace, or all) in batches."""

    @abstractmethod
    def open_collection(self, collection: str, dims: int | None, metric: str, create: bool = True) -> None:
        """Make ready to write ``dims``-d vectors: create if allowed, check dims if it exists."""

    @abstractmethod
    def write_batch(self, collection: str, records: list[Record]) -> None:
        """Upsert by (namespace, id); durable when it returns."""

    def finish(self, collection: str) -> None:
        """After the last batch: build indexes, flush. Default: nothing to do."""

    @abstractmethod
    def search(
        self, collection: str, vector: np.ndarray, k: int = 10, namespace: str | None = None
    ) -> list[Neighbour]:
        """The k nearest records to ``vector`` by the collection's metric."""

    @abstractmethod
    def fetch(self, collection: str, ids: list[str], namespace: str | None = None) -> list[Record]:
        """The records with these ids (missing ids are left out)."""

    def write_batches(
        self, collection: str, batches: Iterable[list[Record]], *, dims: int | None,
        metric: str = "cosine", create: bool = True,
    ) -> int:
        """Convenience for callers that need no checkpoints: write all, return the count."""
        self.open_collection(collection, dims, metric, create)
        count = 0
        for batch in batches:
            self.write_batch(collection, batch)
            count += len(batch)
        self.finish(collection)
        return count


def check_dims(collection: str, existing: int | None, incoming: int | None) -> None:
    """Refuse before writing when an existing collection has other dims."""
    if existing is not None and incoming is not None and existing != incoming:
        raise DimensionMismatch(collection, existing, incoming)
