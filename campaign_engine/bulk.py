"""Fast bulk writes: SQLite executemany without per-row binding, PostgreSQL COPY via staging."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from operator import itemgetter
from typing import Any, cast

from psycopg.errors import UniqueViolation
from sqlalchemy import ARRAY, JSON, Boolean, Column, Date, Table, any_, bindparam
from sqlalchemy.orm import Session

from campaign_engine.db import Base
from campaign_engine.models.types import UTCDateTime

Row = dict[str, Any]


def key_in(session: Session, column: Any, keys: Sequence[Any]) -> Any:
    """Return `column IN keys`; one array parameter on PostgreSQL instead of one per key."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("keys", list(keys), type_=ARRAY(column.type)))
    return column.in_(list(keys))


def write_rows(
    session: Session,
    model: type[Base],
    rows: Sequence[Row],
    conflict: Sequence[str] | None = None,
    update: Sequence[str] | None = None,
    all_new: bool = False,
) -> None:
    """Insert `rows` (all with the same keys); on a `conflict` key update `update` or skip.

    Column defaults the rows leave out are filled in here, as a Core insert would. `all_new`
    says the caller has checked that no row's key exists yet: then there is no conflict to
    handle and PostgreSQL copies the rows straight into the table.
    """
    if not rows:
        return
    table = cast(Table, model.__table__)
    defaults = _defaults(table, list(rows[0]))
    write = Write(table, rows, [*rows[0], *defaults], defaults, conflict, update, all_new)
    if session.get_bind().dialect.name == "postgresql":
        _copy_upsert(session, write)
    else:
        _sqlite_executemany(session, write)


@dataclass(frozen=True)
class Write:
    """One bulk write: rows, their columns (given ones, then defaulted ones), conflict handling."""

    table: Table
    rows: Sequence[Row]
    columns: list[str]
    defaults: dict[str, Any]
    conflict: Sequence[str] | None
    update: Sequence[str] | None
    all_new: bool

    @property
    def names(self) -> str:
        """Return the quoted column list."""
        return ", ".join(f'"{c}"' for c in self.columns)

    def tuples(
        self, convert: Callable[[Column[Any]], Callable[[Any], Any] | None]
    ) -> list[tuple[Any, ...]]:
        """Return the rows as parameter tuples, values converted per column by `convert`."""
        # Defaulted columns come last in `columns` (see write_rows): a tuple is given + tail.
        given = [c for c in self.columns if c not in self.defaults]
        get = itemgetter(*given) if len(given) > 1 else (lambda row: (row[given[0]],))
        tail = tuple(self.defaults[c] for c in self.columns if c in self.defaults)
        converters = [convert(self.table.columns[c]) for c in self.columns]
        converting = [(i, f) for i, f in enumerate(converters) if f is not None]
        if not converting:
            return [get(row) + tail for row in self.rows]
        out = []
        for row in self.rows:
            values = list(get(row) + tail)
            for i, f in converting:
                values[i] = f(values[i])
            out.append(tuple(values))
        return out

    def on_conflict(self) -> str:
        """Return the ON CONFLICT clause; SQLite and PostgreSQL share its syntax."""
        if self.conflict is None:
            return ""
        target = ", ".join(f'"{c}"' for c in self.conflict)
        if not self.update:
            return f" ON CONFLICT ({target}) DO NOTHING"
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in self.update)
        return f" ON CONFLICT ({target}) DO UPDATE SET {sets}"


def _defaults(table: Table, columns: list[str]) -> dict[str, Any]:
    """Return the Python-side defaults of the columns the rows leave out."""
    values = {}
    for column in table.columns:
        default: Any = column.default
        if column.name in columns or default is None:
            continue
        if default.is_callable:
            values[column.name] = default.arg(None)
        elif default.is_scalar:
            values[column.name] = default.arg
    return values


def _sqlite_value(column: Column[Any]) -> Callable[[Any], Any] | None:
    """Return how SQLAlchemy would store a value of `column` in SQLite (None: as it is)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return lambda v: None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(kind, Date):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, JSON):
        return lambda v: None if v is None else json.dumps(v)
    if isinstance(kind, Boolean):
        return lambda v: None if v is None else int(v)
    return None


def _sqlite_executemany(session: Session, write: Write) -> None:
    marks = ", ".join("?" for _ in write.columns)
    sql = f'INSERT INTO "{write.table.name}" ({write.names}) VALUES ({marks})' + write.on_conflict()
    session.connection().exec_driver_sql(sql, write.tuples(_sqlite_value))


def _pg_value(column: Column[Any]) -> Callable[[Any], Any] | None:
    """Return how to hand a value of `column` to COPY (None: as it is)."""
    if isinstance(column.type, JSON):
        return lambda v: None if v is None else json.dumps(v)
    return None


def _copy_upsert(session: Session, write: Write) -> None:
    """COPY rows into the table; with a conflict to handle, via a staging table and INSERT."""
    table, names = write.table.name, write.names
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]

    def copy_into(target: str) -> None:
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for values in write.tuples(_pg_value):
                copy.write_row(values)

    if write.conflict is None:
        copy_into(f'"{table}"')
        return
    if write.all_new:
        # Straight in, unless a concurrent writer added one of the keys since the caller looked.
        cursor.execute("SAVEPOINT ce_bulk_copy")
        try:
            copy_into(f'"{table}"')
        except UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT ce_bulk_copy")
        else:
            cursor.execute("RELEASE SAVEPOINT ce_bulk_copy")
            return
    stage = f"_stage_{table}_{abs(hash(tuple(write.columns))) % 10**8}"
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP"
        f" AS SELECT {names} FROM {table} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {stage}")
    copy_into(stage)
    cursor.execute(
        f'INSERT INTO "{table}" ({names}) SELECT {names} FROM {stage}' + write.on_conflict()
    )
