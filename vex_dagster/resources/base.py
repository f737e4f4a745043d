"""The Dagster face of a vector store: one abstract resource, one thin subclass per store.

A resource only carries configuration (what the Dagster UI shows and a launch may
override); the connector in ``vex_dagster/stores/`` does the work. ``get_client()``
opens the connector through the stores registry and always closes it, so a failed
asset never leaks a connection or a half-open SQLite file.

Adding a store's resource (about fifteen lines, one new file, nothing else to edit)::

    # vex_dagster/resources/qdrant.py
    from typing import ClassVar
    from pydantic import Field
    from vex_dagster.resources.base import VectorStoreResource

    class QdrantResource(VectorStoreResource):
        \"\"\"Qdrant: a server (url) or local mode (path).\"\"\"

        store: ClassVar[str] = "qdrant"            # the name in stores.CONNECTORS
        local_paths: ClassVar[tuple[str, ...]] = ("path",)   # relative -> under VEX_DATA_DIR

        url: str | None = Field(default=None, description="Qdrant server URL, e.g. http://localhost:6333")
        api_key: str | None = Field(default=None, description="API key; set it with dg.EnvVar, never a literal")
        path: str | None = Field(default=None, description="local-mode directory (no server)")

Field names are the client SDK's own (``url``, ``api_key``, ``dsn``, ``host``) and
must equal the connector's ``Setting`` names, because ``store_settings()`` hands the
fields to the connector by name; override it only if they cannot match. A field the
connector declares ``secret=True`` is refused in ``migrations.yaml`` unless it comes
from ``{env: NAME}`` (a ``dg.EnvVar``), so Dagster shows the variable's name, never its
value. The module is found by ``resources/__init__.py`` on its own; it must not
import the store's client library (the connector does that, lazily).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg

from vex_dagster.stores import open_store
from vex_dagster.stores.base import Store

#: store name -> resource class, filled as subclasses are defined.
REGISTERED: dict[str, type["VectorStoreResource"]] = {}


def data_dir() -> Path:
    """Where exports, demo stores and the inbox live: ``VEX_DATA_DIR`` or ``./vex-data``."""
    return Path(os.environ.get("VEX_DATA_DIR") or "vex-data").absolute()


class VectorStoreResource(dg.ConfigurableResource):
    """A vector store; subclasses add the store's connection fields."""

    #: the connector's name in ``vex_dagster.stores.CONNECTORS``
    store: ClassVar[str]
    #: fields holding local files or folders; relative values are taken under VEX_DATA_DIR
    local_paths: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "store" in cls.__dict__:
            REGISTERED[cls.store] = cls

    def store_settings(self) -> dict[str, Any]:
        """The connector's settings from this resource's fields (None: connector default)."""
        settings = {name: getattr(self, name) for name in type(self).model_fields}
        for name in self.local_paths:
            value = settings.get(name)
            if value and not str(value).startswith(":") and not Path(value).is_absolute():
                settings[name] = str(data_dir() / value)
        return settings

    @contextmanager
    def get_client(self) -> Iterator[Store]:
        """The opened connector, closed on the way out whatever happens."""
        store = open_store(self.store, self.store_settings())
        try:
            yield store
        finally:
            store.close()
