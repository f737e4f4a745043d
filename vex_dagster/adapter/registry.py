"""Where fitted adapters live: ``NAME.npz`` (weights) + ``NAME.json`` (the card).

The user's registry (``VEX_ADAPTER_DIR``, default ``~/.local/share/vex/adapters``)
is searched first, then the projections shipped inside the package.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson

from vex_dagster.adapter.fit import LinearMap

BUILTIN_DIR = Path(__file__).parent / "pretrained"


class AdapterNotFound(LookupError):
    pass


@dataclass
class Card:
    from_model: str
    to_model: str
    dims_in: int
    dims_out: int
    method: str
    training_pairs: int
    heldout_mean_cosine: dict[str, float]
    notes: str = ""
    extra: dict = field(default_factory=dict)


def default_dir() -> Path:
    configured = os.environ.get("VEX_ADAPTER_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "vex" / "adapters"


def slug(from_model: str, to_model: str) -> str:
    def clean(name: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")

    return f"{clean(from_model)}__to__{clean(to_model)}"


def save(adapter: LinearMap, card: Card, directory: str | Path | None = None) -> Path:
    directory = Path(directory or default_dir())
    directory.mkdir(parents=True, exist_ok=True)
    name = slug(card.from_model, card.to_model)
    np.savez(directory / f"{name}.npz", weight=adapter.weight, bias=adapter.bias)
    (directory / f"{name}.json").write_bytes(orjson.dumps(asdict(card), option=orjson.OPT_INDENT_2))
    return directory / f"{name}.npz"


def load(from_model: str, to_model: str, directory: str | Path | None = None) -> tuple[LinearMap, Card]:
    name = slug(from_model, to_model)
    for folder in (Path(directory or default_dir()), BUILTIN_DIR):
        if (folder / f"{name}.npz").exists():
            card = Card(**orjson.loads((folder / f"{name}.json").read_bytes()))
            with np.load(folder / f"{name}.npz") as weights:
                return LinearMap(weights["weight"], weights["bias"], card.method), card
    known = ", ".join(f"{c.from_model} -> {c.to_model}" for c, _ in list_cards(directory)) or "none"
    raise AdapterNotFound(f"no adapter from {from_model!r} to {to_model!r}; known: {known}. "
                          "Fit one with `vex-adapt train`")


def list_cards(directory: str | Path | None = None) -> list[tuple[Card, bool]]:
    """(card, is_builtin) for every adapter, the user's first."""
    found = []
    for folder, builtin in ((Path(directory or default_dir()), False), (BUILTIN_DIR, True)):
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            found.append((Card(**orjson.loads(path.read_bytes())), builtin))
    return found
