"""Import checkpoints: the last committed batch, recorded next to the vmig file.

Written after every batch the store has made durable, removed when the import
completes. ``--resume`` skips the records it counts; since stores upsert by id, a
batch that was committed but not yet recorded is simply written again - no
duplicate, nothing lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from vex_dagster.vmig.files import atomic_write_bytes, checkpoint_path, remove_stale_temporaries


class CheckpointMismatch(RuntimeError):
    pass


@dataclass
class Checkpoint:
    store: str
    collection: str
    checksum: str  # of the file being imported: a different file must not resume
    records_done: int = 0

    @classmethod
    def path_for(cls, data_path: str | Path) -> Path:
        return checkpoint_path(data_path)

    @classmethod
    def resume_from(cls, data_path: str | Path, store: str, collection: str, checksum: str) -> "Checkpoint":
        """The saved checkpoint for this import, or a fresh one if none was saved."""
        path = cls.path_for(data_path)
        fresh = cls(store, collection, checksum)
        if not path.exists():
            return fresh
        saved = cls(**orjson.loads(path.read_bytes()))
        if (saved.store, saved.collection, saved.checksum) != (store, collection, checksum):
            raise CheckpointMismatch(
                f"{path.name} belongs to an import of another file or target "
                f"({saved.store}:{saved.collection}); delete it to start over"
            )
        return saved

    def save(self, data_path: str | Path) -> None:
        atomic_write_bytes(self.path_for(data_path), orjson.dumps(asdict(self)))

    @classmethod
    def clear(cls, data_path: str | Path) -> None:
        """Remove the checkpoint, and the temporary of a run killed while saving one."""
        path = cls.path_for(data_path)
        path.unlink(missing_ok=True)
        remove_stale_temporaries(path)
