"""Report rows: frozen dataclasses as JSON-ready dicts and as flat CSV rows."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import UnionType
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

Scalar = str | int | float | bool | None


class ReportRow:
    """Mixin for report dataclasses: `as_dict()` for JSON, `csv_row()` for a CSV export."""

    def as_dict(self) -> dict[str, Any]:
        """Return the row as plain JSON values (dates as ISO strings, nested rows as dicts)."""
        return cast(dict[str, Any], _plain(dataclasses.asdict(cast(Any, self))))

    def csv_row(self) -> dict[str, Scalar]:
        """Return the row flattened to one level (`roi_low` for `roi.low`); lists are left out.

        A nested row that is None still gives its columns (blank), so every row of a type has
        the same columns.
        """
        return _flat_fields(type(self), self, "")


def _flat_fields(kind: type, row: Any, prefix: str) -> dict[str, Scalar]:
    flat: dict[str, Scalar] = {}
    hints = get_type_hints(kind)
    for field in dataclasses.fields(kind):
        value = None if row is None else getattr(row, field.name)
        nested = _nested_row_type(hints[field.name])
        if nested is not None:
            flat.update(_flat_fields(nested, value, f"{prefix}{field.name}_"))
        elif not isinstance(value, list | tuple | dict):
            flat[f"{prefix}{field.name}"] = _plain(value)
    return flat


def _nested_row_type(hint: Any) -> type | None:
    """Return the report-row class a field holds (directly or as `X | None`), else None."""
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    for option in options:
        if isinstance(option, type) and issubclass(option, ReportRow):
            return option
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def to_csv(rows: Iterable[ReportRow | Mapping[str, Scalar]]) -> str:
    """Return rows as CSV text with a header; columns in first-seen order, blanks for None."""
    flat = [row.csv_row() if isinstance(row, ReportRow) else dict(row) for row in rows]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()
