"""Store resources, by store name.

Every module in this folder is imported once, and each ``VectorStoreResource``
subclass registers itself under its ``store`` name: a connector's resource joins by
adding ``resources/<store>.py`` (see ``base.py`` for the recipe), with no list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

from vex_dagster.resources.base import REGISTERED, VectorStoreResource, data_dir


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        try:
            importlib.import_module(f"{__name__}.{module.name}")
        except ModuleNotFoundError as exc:
            # A resource module must not import its client library; if one does and the
            # extra is missing, that store is left out rather than the whole code location.
            warnings.warn(f"resource module {module.name!r} left out: it needs {exc.name!r}", stacklevel=2)


def resource_classes() -> dict[str, type[VectorStoreResource]]:
    """Store name -> resource class, for every store with a resource module."""
    _import_all()
    return dict(sorted(REGISTERED.items()))


def resource_class(store: str) -> type[VectorStoreResource]:
    classes = resource_classes()
    if store not in classes:
        raise KeyError(f"no Dagster resource for store {store!r}; stores with one: {', '.join(classes)}")
    return classes[store]


__all__ = ["VectorStoreResource", "data_dir", "resource_class", "resource_classes"]
