"""Migrations declared in YAML (``migrations.yaml``), validated before Dagster sees them.

The file lists migrations (source -> optional reembed or adapter -> target) and the
inbox; ``definitions.py`` turns each into assets, checks, a job, a schedule and
sensors. Every mistake is reported with the migration's name and the field's path
(``migration 'docs': target.settings.pth: unknown setting``), since a traceback from
deep inside Dagster would not say which line of the file to fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import dagster as dg
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vex_dagster.resources import VectorStoreResource, data_dir, resource_class, resource_classes
from vex_dagster.stores import StoreError, store_class

#: beside workspace.yaml, at the repository root
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "migrations.yaml"
DEFAULT_NAMESPACE_KEY = "(default)"  # Dagster partition keys cannot be empty
STAGES = ("export", "reembed", "adapt")


class MigrationsError(ValueError):
    """``migrations.yaml`` is missing or wrong; the message names the migration and field."""


def migrations_path() -> Path:
    return Path(os.environ.get("VEX_MIGRATIONS") or DEFAULT_PATH)


def partition_key(namespace: str) -> str:
    """A source namespace as a Dagster partition key (the default namespace is '')."""
    return namespace or DEFAULT_NAMESPACE_KEY


def usable_partition_key(key: str) -> bool:
    """Dagster refuses partition keys holding '...' or control characters."""
    return not any(bad in key for bad in ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0"))


def namespace_of(key: str) -> str:
    return "" if key == DEFAULT_NAMESPACE_KEY else key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StoreSpec(_Strict):
    store: str = Field(description="a store with a Dagster resource: vektor, jsonl, qdrant, ...")
    collection: str = Field(min_length=1)
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description="the resource's fields; secrets as {env: NAME}")

    @field_validator("store")
    @classmethod
    def _known_store(cls, store: str) -> str:
        known = resource_classes()
        if store not in known:
            raise ValueError(f"unknown store {store!r}; stores with a resource: {', '.join(known)}")
        return store


class SourceSpec(StoreSpec):
    namespaces: list[str] | None = Field(default=None, description="export only these namespaces")
    seed: str | None = Field(default=None, description="a vmig file loaded into the source collection "
                             "when it does not exist yet (the demo's sample data)")


class TargetSpec(StoreSpec):
    pass


class InboxTargetSpec(StoreSpec):
    collection: str | None = None  # None: the file's meta, else the file name


class ReembedSpec(_Strict):
    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, description="name of the variable holding the API key")
    batch_size: int = Field(default=64, ge=1, le=2048)
    always: bool = Field(default=False, description="re-embed even when the vectors fit the target as they "
                         "are (by default only when needed: see vex_dagster.embed.reembed.decide_reembed)")


class AdapterSpec(_Strict):
    from_model: str = Field(alias="from", min_length=1)
    to_model: str = Field(alias="to", min_length=1)
    registry_dir: str | None = None


class Options(_Strict):
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    metric: Literal["cosine", "dot", "euclidean"] | None = Field(
        default=None, description="metric of a new target collection (default: the source's)")
    index: str | None = Field(default=None, description="index type for stores that take one (target setting 'index')")
    min_recall: float = Field(default=0.9, ge=0.0, le=1.0, description="search-parity threshold (recall@10)")
    sample_size: int = Field(default=100, ge=1, le=10_000, description="records compared in the fidelity check")


class MigrationSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="asset and job names start with it")
    description: str | None = None
    source: SourceSpec
    target: TargetSpec
    reembed: ReembedSpec | None = None
    adapter: AdapterSpec | None = None
    cron: str | None = None
    options: Options = Field(default_factory=Options)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str | None) -> str | None:
        if cron is not None:
            try:
                dg.ScheduleDefinition(name="cron_probe", cron_schedule=cron, job_name="cron_probe")
            except dg.DagsterInvalidDefinitionError:
                raise ValueError(f"{cron!r} is not a cron expression such as '0 3 * * *'") from None
        return cron

    @model_validator(mode="after")
    def _coherent(self) -> "MigrationSpec":
        if self.reembed and self.adapter:
            raise ValueError("reembed and adapter both given; choose one (re-embedding already "
                             "puts vectors in the new model's space)")
        if self.target.store == "jsonl" and "{namespace}" not in self.target.collection:
            raise ValueError("target.collection: a jsonl collection is one file that each write "
                             "replaces, so namespaces would overwrite each other; use a name with "
                             "'{namespace}', e.g. 'docs-{namespace}'")
        return self

    @property
    def transform(self) -> str | None:
        """The stage between export and import, if any."""
        return "reembed" if self.reembed else "adapt" if self.adapter else None

    def stage_path(self, stage: str, key: str) -> Path:
        """``VEX_DATA_DIR/<migration>/<stage>/<partition>.vmig.jsonl``"""
        return data_dir() / self.name / stage / f"{quote(key, safe='()')}.vmig.jsonl"

    def import_path(self, key: str) -> Path:
        """The file the import reads: the last stage's output."""
        return self.stage_path(self.transform or "export", key)

    def target_collection(self, key: str) -> str:
        return self.target.collection.replace("{namespace}", quote(key, safe="()"))


class InboxSpec(_Strict):
    dir: str | None = Field(default=None, description="watched folder (default VEX_INBOX_DIR, "
                            "else VEX_DATA_DIR/inbox)")
    target: InboxTargetSpec | None = None


class MigrationsFile(_Strict):
    migrations: list[MigrationSpec] = Field(default_factory=list)
    inbox: InboxSpec | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> "MigrationsFile":
        names = [m.name for m in self.migrations]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"migration names must be unique; repeated: {', '.join(repeated)}")
        return self

    def inbox_dir(self) -> Path:
        chosen = os.environ.get("VEX_INBOX_DIR") or (self.inbox.dir if self.inbox else None)
        return Path(chosen).absolute() if chosen else data_dir() / "inbox"


def _where(raw: Any, loc: tuple) -> str:
    """'migration 'x': source.store' from a pydantic error location."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "migrations" and isinstance(parts[1], int):
        index = parts[1]
        entry = raw.get("migrations", [])[index] if isinstance(raw, dict) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"migration {name!r}" if name else f"migration #{index + 1}"
        rest = ".".join(str(p) for p in parts[2:])
        return f"{label}: {rest}" if rest else label
    return ".".join(str(p) for p in parts) or "file"


def _env_or_value(value: Any, where: str) -> Any:
    """``{env: NAME}`` becomes a ``dg.EnvVar`` (read at run time, never displayed)."""
    if isinstance(value, dict):
        if set(value) != {"env"} or not isinstance(value["env"], str):
            raise MigrationsError(f"{where}: write a variable as {{env: NAME}}")
        return dg.EnvVar(value["env"])
    return value


def build_resource(spec: StoreSpec, where: str) -> VectorStoreResource:
    """The configured resource for a source or target, with every setting checked."""
    cls = resource_class(spec.store)
    try:
        secrets = {s.name for s in store_class(spec.store).settings if s.secret}
    except StoreError:
        secrets = set()
    values = {}
    for key, value in spec.settings.items():
        field = f"{where}.settings.{key}"
        if key not in cls.model_fields:
            raise MigrationsError(f"{field}: unknown setting for {spec.store}; "
                                  f"known: {', '.join(cls.model_fields) or 'none'}")
        if key in secrets and not isinstance(value, dict):
            raise MigrationsError(f"{field}: a secret must come from the environment, "
                                  f"as {{env: NAME}}, not be written in the file")
        values[key] = _env_or_value(value, field)
    try:
        return cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise MigrationsError(f"{where}.settings.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def load_migrations(path: str | Path | None = None) -> MigrationsFile:
    """Read and validate the migrations file (``VEX_MIGRATIONS`` or the shipped one)."""
    path = Path(path) if path else migrations_path()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise MigrationsError(f"no migrations file at {path}; set VEX_MIGRATIONS to yours") from None
    except yaml.YAMLError as exc:
        raise MigrationsError(f"{path.name} is not valid YAML: {exc}") from None
    try:
        parsed = MigrationsFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(raw, e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise MigrationsError(f"{path.name}: " + "; ".join(problems)) from None
    for migration in parsed.migrations:
        if migration.source.seed and not Path(migration.source.seed).is_absolute():
            migration.source.seed = str((path.parent / migration.source.seed).resolve())
        for side in ("source", "target"):
            build_resource(getattr(migration, side), f"{path.name}: migration {migration.name!r}: {side}")
        if migration.options.index and "index" not in resource_class(migration.target.store).model_fields:
            raise MigrationsError(f"{path.name}: migration {migration.name!r}: options.index: "
                                  f"store {migration.target.store} takes no index setting")
    return parsed


__all__ = [
    "DEFAULT_NAMESPACE_KEY", "MigrationSpec", "MigrationsError", "MigrationsFile", "build_resource",
    "load_migrations", "migrations_path", "namespace_of", "partition_key",
]
