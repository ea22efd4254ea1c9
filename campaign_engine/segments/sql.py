"""SQL building blocks the segment compiler needs to behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from sqlalchemy import BigInteger, Float, Integer, String, bindparam, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

JsonKind = Literal["string", "number", "boolean"]

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ascii_lower(FunctionElement[str]):
    """Lower-case ASCII letters only, identically on both databases."""

    type = String()
    inherit_cache = True


@compiles(ascii_lower, "sqlite")
def _ascii_lower_sqlite(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's lower() folds ASCII letters only.
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(ascii_lower, "postgresql")
def _ascii_lower_postgresql(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's lower() follows the locale; translate() folds exactly A-Z.
    arg = compiler.process(element.clauses, **kw)
    return f"translate({arg}, '{_UPPER}', '{_UPPER.lower()}')"


class json_type(FunctionElement[str]):
    """The JSON type of `doc[key]`: 'string', 'number', 'boolean', 'null', or NULL if absent."""

    type = String()
    inherit_cache = True


@compiles(json_type, "sqlite")
def _json_type_sqlite(element: json_type, compiler: SQLCompiler, **kw: Any) -> str:
    doc, path = (compiler.process(c, **kw) for c in element.clauses)
    raw = f"json_type({doc}, {path})"
    return (
        f"CASE {raw} WHEN 'text' THEN 'string' WHEN 'integer' THEN 'number' "
        f"WHEN 'real' THEN 'number' WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean' "
        f"ELSE {raw} END"
    )


@compiles(json_type, "postgresql")
def _json_type_postgresql(element: json_type, compiler: SQLCompiler, **kw: Any) -> str:
    doc, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"jsonb_typeof({doc} -> CAST({key} AS TEXT))"


class json_text(FunctionElement[str]):
    """`doc[key]` as SQL text (for strings), number or boolean; NULL if absent."""

    type = String()
    inherit_cache = True


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    doc, path = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_extract({doc}, {path})"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    doc, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"({doc} ->> CAST({key} AS TEXT))"


def json_value(doc: Any, key: str, kind: JsonKind) -> ColumnElement[Any]:
    """Return `doc[key]` as a SQL value of `kind`, or NULL when absent or of another kind."""
    # SQLite addresses keys by JSON path, PostgreSQL by the key itself; both are bound.
    path = bindparam(None, f'$."{key}"', String(), unique=True)
    plain = bindparam(None, key, String(), unique=True)
    key_param = _DialectKey(path, plain)
    kind_sql = json_type(doc, key_param)
    raw = json_text(doc, key_param)
    match kind:
        case "string":
            value: ColumnElement[Any] = raw
        case "number":
            value = _as_number(raw)
        case "boolean":
            value = _as_boolean(raw)
    return case((kind_sql == kind, value), else_=None)


def json_is_set(doc: Any, key: str) -> ColumnElement[bool]:
    """True when `doc` holds `key` with a non-null value (never NULL itself)."""
    path = bindparam(None, f'$."{key}"', String(), unique=True)
    plain = bindparam(None, key, String(), unique=True)
    kind = json_type(doc, _DialectKey(path, plain))
    return kind.is_not(None) & (kind != "null")


class _DialectKey(ColumnElement[str]):
    """A JSON key: a JSON path on SQLite, the plain key on PostgreSQL."""

    type = String()
    inherit_cache = False

    def __init__(self, path: ColumnElement[str], plain: ColumnElement[str]) -> None:
        self.path = path
        self.plain = plain


@compiles(_DialectKey, "sqlite")
def _key_sqlite(element: _DialectKey, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.path, **kw)


@compiles(_DialectKey, "postgresql")
def _key_postgresql(element: _DialectKey, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.plain, **kw)


class _as_number(FunctionElement[float]):
    type = Float()
    inherit_cache = True


@compiles(_as_number, "sqlite")
def _as_number_sqlite(element: _as_number, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_as_number, "postgresql")
def _as_number_postgresql(element: _as_number, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DOUBLE PRECISION)"


class _as_boolean(FunctionElement[int]):
    type = Integer()
    inherit_cache = True


@compiles(_as_boolean, "sqlite")
def _as_boolean_sqlite(element: _as_boolean, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # json_extract gives 1 / 0


@compiles(_as_boolean, "postgresql")
def _as_boolean_postgresql(element: _as_boolean, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(CAST({compiler.process(element.clauses, **kw)} AS BOOLEAN) AS INTEGER)"


# The random-bucket hash: integer arithmetic both databases evaluate identically. Two affine
# rounds mix the id and salt, two squarings make it non-linear (so a new salt draws a new,
# independent sample rather than a rotated one); each round reads the previous value at most
# twice, which keeps the SQL small (an XOR-shift hash needs XOR, which SQLite lacks, and
# grows 64-fold when spelled out).
P, Q = 2_147_483_647, 2_147_483_629  # primes below 2^31: every product fits in a BIGINT
A1, C1, A2, C2, C3 = 48_271, 1_013_904_223, 69_621, 12_345, 743_852_824
BUCKETS = 10_000


def salt_number(salt: str) -> int:
    """Return the 31-bit number a bucket salt adds to every contact id."""
    return int.from_bytes(hashlib.sha256(salt.encode()).digest()[:4], "big") & 0x7FFFFFFF


def bucket_of(contact_id: int, salt: str) -> int:
    """Return a contact's bucket in 0..9,999 (the Python twin of `bucket_expr`)."""
    h = ((contact_id % P) * A1 + salt_number(salt)) % P
    h = (h * h + C1) % P
    h = (h * A2 + C2) % Q
    h = (h * h + C3) % Q
    return h * BUCKETS // Q


def _int(value: int) -> ColumnElement[int]:
    # The hash's own constants, not user input: literal, so each database picks its int type.
    return literal_column(str(int(value)), BigInteger())


def bucket_expr(contact_id: ColumnElement[int], salt: str) -> ColumnElement[int]:
    """Return SQL computing `bucket_of(contact_id, salt)`."""
    salt_param = bindparam(None, salt_number(salt), BigInteger(), unique=True)
    h = ((contact_id % _int(P)) * _int(A1) + salt_param) % _int(P)
    h = (h * h + _int(C1)) % _int(P)
    h = (h * _int(A2) + _int(C2)) % _int(Q)
    h = (h * h + _int(C3)) % _int(Q)
    return (h * _int(BUCKETS)) // _int(Q)


class month_day(FunctionElement[int]):
    """A date's month * 100 + day (of the UTC date for date-times)."""

    type = Integer()
    inherit_cache = False  # `utc` changes the SQL but is not part of the cache key

    def __init__(self, expr: ColumnElement[Any], utc: bool) -> None:
        self.utc = utc
        super().__init__(expr)


@compiles(month_day, "sqlite")
def _month_day_sqlite(element: month_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%m%d', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(month_day, "postgresql")
def _month_day_postgresql(element: month_day, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    if element.utc:
        arg = f"({arg} AT TIME ZONE 'UTC')"
    return f"CAST(to_char({arg}, 'MMDD') AS INTEGER)"


class email_domain(FunctionElement[str]):
    """The part of an email address after its first '@' (NULL when it has none)."""

    type = String()
    inherit_cache = True


@compiles(email_domain, "sqlite")
def _email_domain_sqlite(element: email_domain, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CASE WHEN instr({arg}, '@') > 0 THEN substr({arg}, instr({arg}, '@') + 1) END"


@compiles(email_domain, "postgresql")
def _email_domain_postgresql(element: email_domain, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CASE WHEN strpos({arg}, '@') > 0 THEN substr({arg}, strpos({arg}, '@') + 1) END"
