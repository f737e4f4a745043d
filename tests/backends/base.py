"""What a store backend offers the shared tests (round-trip matrix, checks, faults).

Each ``tests/backends/<store>.py`` defines a session fixture named
``<store>_backend`` returning a :class:`Backend`; conftest loads every module in
this folder, and the matrix runs every ordered pair of the backends it finds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vex_dagster.stores.base import Store


@dataclass
class Backend:
    name: str
    open: Callable[[], Store]  # a new connection to the same data each call
    exact_vectors: bool = True  # float32 kept bit for bit (else compared by cosine)
    #: what the store documents it cannot keep, field -> reason; the matrix asserts
    #: these as losses rather than skipping them, and the README table repeats them.
    losses: dict[str, str] = field(default_factory=dict)
    #: False where an import writes the collection anew (a jsonl file), so there is
    #: no existing collection whose dims it could contradict
    import_adds_to_collection: bool = True
