"""pgvector: PostgreSQL with the pgvector extension, through psycopg 3.

One table per collection, primary key (namespace, id). Every vmig field survives:
vectors in a ``vector(N)`` column (float32, bit for bit), metadata and the rest in
``jsonb``, ``created_at`` as the text it was. Each batch is one transaction: a
binary COPY into a temporary staging table, then ``INSERT ... ON CONFLICT DO
UPDATE``; the ANN index is built once, after the load, in ``finish``. Export reads
through a server-side binary cursor, so memory holds one batch.

pgvector indexes at most 2,000 dims of ``vector``; above that the index is built on
a ``halfvec`` expression (up to 4,000 dims) while the column keeps full float32,
and above 4,000 no index is built (both said in the log).

Tables not made by vex are read and written through column flags
(``--id-column``, ``--vector-column``, ``--text-column``, ``--metadata-column``,
``--namespace-column``).
"""

from __future__ import annotations

import json
import re
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import orjson

from vex_dagster.stores.base import (
    CollectionInfo, CollectionNotFound, Neighbour, Setting, Store, StoreError, StoreUnavailable, check_dims,
)
from vex_dagster.stores.embedded_postgres import embedded_dsn
from vex_dagster.stores.retry import retry_call
from vex_dagster.vmig.record import Record

log = logging.getLogger("vex.pgvector")

OPS = {"cosine": ("<=>", "cosine"), "dot": ("<#>", "ip"), "euclidean": ("<->", "l2")}
VECTOR_INDEX_MAX, HALFVEC_INDEX_MAX = 2000, 4000
COMMENT_PREFIX = "vex metric="
#: the vmig fields without a column of their own, kept in the ``vex`` jsonb column
_STASHED = ("source_store", "modality", "score", "vex_version", "sparse_vector", "extra")


def _is_transient(exc: BaseException) -> bool:
    import psycopg

    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, StoreUnavailable))


@contextmanager
def _connection_lost_is_one_line(what: str):
    """A connection that stays lost after the retries is the user's to look at (network,
    server): say so in one line, not a driver traceback."""
    import psycopg

    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreUnavailable(f"lost the connection to PostgreSQL during {what}: {reason}") from exc


def _json_dumps(value: Any) -> bytes | str:
    """jsonb parameters through orjson (the stdlib encoder was a tenth of an import's
    time); the stdlib only for integers beyond 64 bits, which orjson refuses."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value)


#: 19 digits in a row may be an integer beyond 64 bits (or a string holding digits)
_LONG_DIGITS = re.compile(rb"\d{19}")


def _json_loads(data: bytes | memoryview) -> Any:
    """jsonb values through orjson (the stdlib decoder was a third of an export's
    time). orjson reads integers beyond 64 bits as floats, so a value with a run of
    19 digits goes through the stdlib, which keeps them exact."""
    if _LONG_DIGITS.search(data):
        return json.loads(bytes(data))
    return orjson.loads(data)


class PgvectorStore(Store):
    name = "pgvector"
    settings = (
        Setting("dsn", "PostgreSQL DSN, e.g. postgresql://user:pw@host/db (default: an embedded "
                "PostgreSQL in --data-dir); prefer the environment variable", secret=True),
        Setting("data_dir", "data directory of the embedded PostgreSQL used when no DSN is given"),
        Setting("schema", "schema holding the collection tables", "public"),
        Setting("index", "ANN index built after an import: hnsw, ivfflat or none", "hnsw"),
        Setting("index_memory", "maintenance_work_mem for the index build (an HNSW graph that does not "
                "fit spills and builds many times slower)", "1GB"),
        Setting("id_column", "id column of the table", "id"),
        Setting("vector_column", "vector column of the table", "embedding"),
        Setting("text_column", "text column of the table", "text"),
        Setting("metadata_column", "jsonb metadata column of the table", "metadata"),
        Setting("namespace_column", "namespace column of the table", "namespace"),
    )

    def __init__(self, dsn: str | None = None, data_dir: str | None = None, schema: str = "public",
                 index: str = "hnsw", index_memory: str = "1GB", id_column: str = "id", vector_column: str = "embedding",
                 text_column: str = "text", metadata_column: str = "metadata", namespace_column: str = "namespace"):
        if index not in ("hnsw", "ivfflat", "none"):
            raise StoreError(f"--index must be hnsw, ivfflat or none, not {index!r}")
        self._dsn = dsn or embedded_dsn(data_dir)
        self.schema, self.index, self.index_memory = schema, index, index_memory
        self.columns = {"id": id_column, "vector": vector_column, "text": text_column,
                        "metadata": metadata_column, "namespace": namespace_column}
        self._conn = None
        retry_call(self._connect, is_transient=_is_transient, what="pgvector connect")

    # -- connection --------------------------------------------------------------------
    def _connect(self) -> None:
        import psycopg
        from pgvector.psycopg import register_vector
        from psycopg.types.json import set_json_dumps, set_json_loads

        try:
            self._conn = psycopg.connect(self._dsn, autocommit=False)
        except psycopg.OperationalError as exc:  # psycopg's message names the host, never the password
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}".strip()) from exc
        with self._conn.transaction():
            self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(self._conn)
        set_json_dumps(_json_dumps, context=self._conn)
        set_json_loads(_json_loads, context=self._conn)

    def _call(self, what: str, fn):
        """Run ``fn`` in a transaction, reconnecting and retrying after a lost connection."""

        def attempt():
            if self._conn is None or self._conn.closed:
                self._connect()
            try:
                with self._conn.transaction():
                    return fn(self._conn)
            except Exception:
                if self._conn.broken:
                    self._conn.close()
                raise

        with _connection_lost_is_one_line(what):
            return retry_call(attempt, is_transient=_is_transient, what=f"pgvector {what}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def source_info(self, collection: str) -> dict:
        return {"collection": collection, "schema": self.schema}  # never the DSN: it may hold a password

    # -- table shape -------------------------------------------------------------------
    def _table(self, collection: str):
        from psycopg import sql

        return sql.Identifier(self.schema, collection)

    def _table_columns(self, collection: str) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped",
            (self.schema, collection),
        ).fetchall()
        return dict(rows)

    def _shape(self, collection: str) -> dict[str, str]:
        columns = self._call("describe", lambda _: self._table_columns(collection))
        if not columns:
            raise CollectionNotFound(f"pgvector table {self.schema}.{collection} does not exist")
        if self.columns["id"] not in columns or self.columns["vector"] not in columns:
            raise StoreError(f"table {self.schema}.{collection} has columns {sorted(columns)}; name its id "
                             f"and vector columns with --id-column and --vector-column")
        return columns

    def _dims(self, columns: dict[str, str]) -> int | None:
        kind = columns[self.columns["vector"]]
        return int(kind[kind.index("(") + 1 : -1]) if "(" in kind else None

    def _metric(self, collection: str) -> str:
        comment = self._call("comment", lambda c: c.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')", (f'"{self.schema}"."{collection}"',),
        ).fetchone()[0])
        if comment and comment.startswith(COMMENT_PREFIX):
            return comment[len(COMMENT_PREFIX):]
        return "cosine"

    def describe(self, collection: str) -> CollectionInfo:
        from psycopg import sql

        columns = self._shape(collection)
        ns = self.columns["namespace"]
        if ns in columns:
            query = sql.SQL("SELECT {ns}, count(*) FROM {t} GROUP BY {ns} ORDER BY {ns}").format(
                ns=sql.Identifier(ns), t=self._table(collection))
        else:
            query = sql.SQL("SELECT '', count(*) FROM {t}").format(t=self._table(collection))
        namespaces = {k or "": v for k, v in self._call("count", lambda c: c.execute(query).fetchall()) if v}
        return CollectionInfo(collection, self._dims(columns), self._metric(collection),
                              sum(namespaces.values()), namespaces)

    # -- reading -----------------------------------------------------------------------
    def _select_list(self, columns: dict[str, str]):
        """(SQL select list, names) for the columns this table has, vex's own included."""
        from psycopg import sql

        wanted = [("id", self.columns["id"]), ("vector", self.columns["vector"])]
        for role in ("text", "metadata", "namespace"):
            if self.columns[role] in columns:
                wanted.append((role, self.columns[role]))
        for extra in ("model", "created_at", "vex"):
            if extra in columns:
                wanted.append((extra, extra))
        select = sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier(c)) if role == "id" else sql.Identifier(c)
            for role, c in wanted)
        return select, [role for role, _ in wanted]

    @staticmethod
    def _to_record(names: list[str], row: tuple) -> Record:
        values = dict(zip(names, row))
        vex = values.get("vex") or {}
        vector = values["vector"]
        if hasattr(vector, "to_numpy"):  # the binary loader gives a pgvector Vector
            vector = vector.to_numpy()
        return Record(
            id=values["id"], vector=None if vector is None else np.asarray(vector, dtype=np.float32),
            text=values.get("text"), namespace=values.get("namespace") or None, metadata=values.get("metadata"),
            model=values.get("model"), created_at=values.get("created_at"),
            source_store=vex.get("source_store") or "pgvector", modality=vex.get("modality") or "text",
            score=vex.get("score"), vex_version=vex.get("vex_version") or Record.vex_version,
            sparse_vector=vex.get("sparse_vector"), extra=vex.get("extra") or {},
        )

    def iter_batches(self, collection, namespace=None, batch_size=1000) -> Iterator[list[Record]]:
        from psycopg import sql

        columns = self._shape(collection)
        select, names = self._select_list(columns)
        query = sql.SQL("SELECT {s} FROM {t}").format(s=select, t=self._table(collection))
        params: tuple = ()
        if namespace is not None and self.columns["namespace"] in columns:
            query += sql.SQL(" WHERE {} = %s").format(sql.Identifier(self.columns["namespace"]))
            params = (namespace,)
        # in primary-key order, which the key's index gives without sorting: ORDER BY id
        # alone sorted the whole table, on disk past work_mem (15 MB at 10k x 384-d)
        order = [self.columns["namespace"]] if self.columns["namespace"] in columns else []
        query += sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, order + [self.columns["id"]])))
        with (_connection_lost_is_one_line("export"), self._conn.transaction(),
              self._conn.cursor(name="vex_export", binary=True) as cursor):
            cursor.itersize = batch_size
            cursor.execute(query, params)
            while rows := cursor.fetchmany(batch_size):
                yield [self._to_record(names, row) for row in rows]

    # -- writing -----------------------------------------------------------------------
    def open_collection(self, collection, dims, metric="cosine", create=True) -> None:
        from psycopg import sql

        try:
            check_dims(collection, self._dims(self._shape(collection)), dims)
            return
        except CollectionNotFound:
            if not create:
                raise
        if dims is None:
            raise StoreError("pgvector needs vectors to create a table; re-embed text-only records first")
        metric = metric or "cosine"
        ddl = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} (namespace text NOT NULL DEFAULT '', id text NOT NULL, "
            "embedding vector({dims}), text text, metadata jsonb, model text, created_at text, vex jsonb, "
            "PRIMARY KEY (namespace, id))").format(t=self._table(collection), dims=sql.Literal(dims))
        comment = sql.SQL("COMMENT ON TABLE {t} IS {c}").format(
            t=self._table(collection), c=sql.Literal(COMMENT_PREFIX + metric))
        self._call("create table", lambda c: (c.execute(ddl), c.execute(comment)))

    def _rows(self, records: list[Record], columns: dict[str, str]) -> tuple[list[str], list[tuple]]:
        """Columns and COPY rows for this table; the last record wins within a batch."""
        from psycopg.types.json import Jsonb

        latest = {(r.namespace or "", r.id): r for r in records}
        names = [self.columns["id"], self.columns["vector"]]
        getters = [lambda r: r.id, lambda r: r.vector]
        optional = {
            self.columns["namespace"]: lambda r: r.namespace or "", self.columns["text"]: lambda r: r.text,
            self.columns["metadata"]: lambda r: None if r.metadata is None else Jsonb(r.metadata),
            "model": lambda r: r.model, "created_at": lambda r: r.created_at,
            "vex": lambda r: Jsonb({k: getattr(r, k) for k in _STASHED}),
        }
        for column, getter in optional.items():
            if column in columns:
                names.append(column)
                getters.append(getter)
        return names, [tuple(g(r) for g in getters) for r in latest.values()]

    def write_batch(self, collection, records) -> None:
        from psycopg import sql

        columns = self._shape(collection)
        names, rows = self._rows(records, columns)
        key = [self.columns["id"]] + ([self.columns["namespace"]] if self.columns["namespace"] in columns else [])
        target = self._table(collection)
        column_list = sql.SQL(", ").join(map(sql.Identifier, names))
        updates = sql.SQL(", ").join(sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(n))
                                     for n in names if n not in key)
        # ids are staged as text and cast to the table's id type (a user table may use bigint or uuid)
        id_column = sql.Identifier(self.columns["id"])
        types = ["text"] + [columns[n].split("(")[0] if not columns[n].startswith("vector") else "vector"
                            for n in names[1:]]
        selected = sql.SQL(", ").join(
            [sql.SQL("{}::{}").format(id_column, sql.SQL(columns[names[0]]))] + [sql.Identifier(n) for n in names[1:]])

        def load(conn):
            conn.execute(sql.SQL("CREATE TEMP TABLE vex_stage (LIKE {t}) ON COMMIT DROP").format(t=target))
            conn.execute(sql.SQL("ALTER TABLE vex_stage ALTER COLUMN {} TYPE text").format(id_column))
            copy_sql = sql.SQL("COPY vex_stage ({cols}) FROM STDIN (FORMAT BINARY)").format(cols=column_list)
            with conn.cursor().copy(copy_sql) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
            conn.execute(sql.SQL(
                "INSERT INTO {t} ({cols}) SELECT {sel} FROM vex_stage ON CONFLICT ({key}) DO UPDATE SET {upd}"
            ).format(t=target, cols=column_list, sel=selected,
                     key=sql.SQL(", ").join(map(sql.Identifier, key)), upd=updates))

        self._call("upsert", load)

    def finish(self, collection: str) -> None:
        from psycopg import sql

        if self.index == "none":
            return
        columns = self._shape(collection)
        dims, metric = self._dims(columns), self._metric(collection)
        vector = sql.Identifier(self.columns["vector"])
        if dims is None or dims > HALFVEC_INDEX_MAX:
            log.warning("no %s index on %s: pgvector indexes at most %d dims", self.index, collection,
                        HALFVEC_INDEX_MAX)
            return
        if dims > VECTOR_INDEX_MAX:
            log.warning("%s has %d dims, above pgvector's %d for a vector index: indexing a halfvec "
                        "expression (the column keeps float32)", collection, dims, VECTOR_INDEX_MAX)
            target, opclass = sql.SQL("(({}::halfvec({})))").format(vector, sql.Literal(dims)), "halfvec"
        else:
            target, opclass = sql.SQL("({})").format(vector), "vector"
        ops = sql.SQL(f"{opclass}_{OPS[metric][1]}_ops")
        options = sql.SQL("")
        if self.index == "ivfflat":
            count = self.describe(collection).count
            options = sql.SQL(" WITH (lists = {})").format(sql.Literal(max(1, min(count // 1000, 4000))))
        statement = sql.SQL("CREATE INDEX IF NOT EXISTS {name} ON {t} USING {method} ({target} {ops}){opts}").format(
            name=sql.Identifier(f"{collection}_{self.index}_idx"), t=self._table(collection),
            method=sql.SQL(self.index), target=target, ops=ops, opts=options)
        workers = max(1, min((os.cpu_count() or 2) - 1, 7))

        def build(conn):
            # session settings for this one statement: memory for the graph, and parallel workers
            conn.execute("SELECT set_config('maintenance_work_mem', %s, true), "
                         "set_config('max_parallel_maintenance_workers', %s, true)",
                         (self.index_memory, str(workers)))
            conn.execute(statement)

        log.info("building the %s index on %s", self.index, collection)
        self._call("index", build)

    # -- checking ----------------------------------------------------------------------
    def search(self, collection, vector, k=10, namespace=None) -> list[Neighbour]:
        from psycopg import sql

        columns = self._shape(collection)
        operator = OPS[self._metric(collection)][0]
        query = sql.SQL("SELECT {id}::text, {v} {op} %s FROM {t}").format(
            id=sql.Identifier(self.columns["id"]), v=sql.Identifier(self.columns["vector"]),
            op=sql.SQL(operator), t=self._table(collection))
        params: list[Any] = [np.asarray(vector, dtype=np.float32)]
        if namespace is not None and self.columns["namespace"] in columns:
            query += sql.SQL(" WHERE {} = %s").format(sql.Identifier(self.columns["namespace"]))
            params.append(namespace)
        query += sql.SQL(" ORDER BY 2 LIMIT %s")
        rows = self._call("search", lambda c: c.execute(query, (*params, k)).fetchall())
        return [Neighbour(rid, -float(distance)) for rid, distance in rows]

    def fetch(self, collection, ids, namespace=None) -> list[Record]:
        from psycopg import sql

        columns = self._shape(collection)
        select, names = self._select_list(columns)
        query = sql.SQL("SELECT {s} FROM {t} WHERE {id}::text = ANY(%s)").format(
            s=select, t=self._table(collection), id=sql.Identifier(self.columns["id"]))
        rows = self._call("fetch", lambda c: c.execute(query, (list(ids),)).fetchall())
        records = [self._to_record(names, row) for row in rows]
        return [r for r in records if namespace is None or (r.namespace or "") == namespace]
