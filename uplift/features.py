"""Turn a mixed-type pandas DataFrame into the numeric matrix the learners need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api import types as ptypes

from uplift.errors import UpliftError

Kind = Literal["numeric", "boolean", "categorical"]

#: Categories beyond this many most frequent ones share one "other" indicator.
MAX_CATEGORIES = 30


@dataclass(frozen=True)
class ColumnSpec:
    """How one input column was seen at fit time and how it is encoded."""

    name: str
    kind: Kind
    fill: float = 0.0
    categories: tuple[str, ...] = ()


def _kind_of(series: pd.Series) -> Kind:
    if ptypes.is_bool_dtype(series.dtype):
        return "boolean"
    if ptypes.is_numeric_dtype(series.dtype):
        return "numeric"
    return "categorical"


def _as_float(series: pd.Series) -> npt.NDArray[np.float64]:
    """Return a numeric column as float64 with NaN for missing values (no copy if it is one)."""
    if series.dtype == np.float64:
        return series.to_numpy()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _as_text(series: pd.Series) -> npt.NDArray[np.object_]:
    values = series.astype("object").to_numpy()
    missing = pd.isna(values)
    out = np.where(missing, "", values.astype(str))
    return np.asarray(out, dtype=object)


class FeatureEncoder:
    """Encode numeric, boolean and string/categorical columns; remember them for predict.

    Numeric columns pass through with missing values filled by the training median; booleans
    become 0/1; other columns are one-hot encoded over the categories seen at fit (at most
    ``max_categories`` most frequent, the rest and unseen values fall into ``<col>=<other>``).
    """

    def __init__(self, max_categories: int = MAX_CATEGORIES) -> None:
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame) -> FeatureEncoder:
        """Learn the columns, their kinds, fills and categories."""
        if not isinstance(X, pd.DataFrame):
            raise UpliftError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        if X.shape[1] == 0:
            raise UpliftError("X has no feature columns")
        names = [str(c) for c in X.columns]
        if len(set(names)) != len(names):
            raise UpliftError("X has duplicate column names")
        specs: list[ColumnSpec] = []
        for name, column in zip(names, X.columns, strict=True):
            series = X[column]
            kind = _kind_of(series)
            if kind == "numeric":
                numbers = pd.to_numeric(series, errors="coerce").astype(float)
                median = float(numbers.median()) if numbers.notna().any() else 0.0
                specs.append(ColumnSpec(name, kind, fill=median))
            elif kind == "boolean":
                specs.append(ColumnSpec(name, kind))
            else:
                counts = pd.Series(_as_text(series)).value_counts(sort=True)
                top = sorted(counts.index[: self.max_categories].tolist(), key=str)
                specs.append(ColumnSpec(name, kind, categories=tuple(str(v) for v in top)))
        self.columns_: tuple[ColumnSpec, ...] = tuple(specs)
        self.feature_names_in_: list[str] = names
        self.feature_names_out_: list[str] = self._output_names()
        return self

    def _output_names(self) -> list[str]:
        out: list[str] = []
        for spec in self.columns_:
            if spec.kind == "categorical":
                out.extend(f"{spec.name}={value}" for value in spec.categories)
                out.append(f"{spec.name}=<other>")
            else:
                out.append(spec.name)
        return out

    def check_columns(self, X: pd.DataFrame) -> None:
        """Raise UpliftError when X lacks a fitted column or a column changed its kind."""
        if not isinstance(X, pd.DataFrame):
            raise UpliftError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        present = {str(c): c for c in X.columns}
        missing = [spec.name for spec in self.columns_ if spec.name not in present]
        if missing:
            raise UpliftError(
                f"X is missing {len(missing)} column(s) the model was trained on: "
                + ", ".join(missing)
            )
        changed = []
        for spec in self.columns_:
            series = X[present[spec.name]]
            kind = _kind_of(series)
            # Booleans are numbers, and an all-missing column has no type of its own.
            compatible = spec.kind == "numeric" and (kind == "boolean" or bool(series.isna().all()))
            if kind != spec.kind and not compatible:
                changed.append(f"{spec.name} (trained as {spec.kind}, now {kind})")
        if changed:
            raise UpliftError(
                "X has columns whose type changed since training: " + ", ".join(changed)
            )

    def transform(
        self,
        X: pd.DataFrame,
        rows: npt.NDArray[np.bool_] | None = None,
        out: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.float64]:
        """Return the float matrix for X (only the rows where ``rows`` is set, if given).

        The matrix is allocated once (C order, float64: what the outcome models read without a
        copy), or is ``out`` (any float64 array or view of the right shape), and is filled
        column by column, so encoding holds at most one column's temporaries besides it.
        """
        self.check_columns(X)
        present = {str(c): c for c in X.columns}
        index = None if rows is None else np.flatnonzero(rows)
        n_rows = len(X) if index is None else len(index)
        shape = (n_rows, len(self.feature_names_out_))
        if out is None:
            out = np.empty(shape, dtype=np.float64)
        elif out.shape != shape or out.dtype != np.float64:
            raise UpliftError(f"out must be a float64 array of shape {shape}, got {out.shape}")
        at = 0
        for spec in self.columns_:
            series = X[present[spec.name]]
            if index is not None:
                series = series.iloc[index]
            if spec.kind == "numeric":
                numbers = _as_float(series)
                out[:, at] = numbers
                out[np.isnan(numbers), at] = spec.fill
                at += 1
            elif spec.kind == "boolean":
                out[:, at] = series.astype("boolean").fillna(False).to_numpy(dtype=bool)
                at += 1
            else:
                width = len(spec.categories) + 1
                text = _as_text(series)
                codes = pd.Index(list(spec.categories), dtype=object).get_indexer(pd.Index(text))
                positions = np.where(codes < 0, len(spec.categories), codes)
                block = out[:, at : at + width]
                block[:] = 0.0
                block[np.arange(n_rows), positions] = 1.0
                at += width
        return out

    def fit_transform(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Fit, then transform X."""
        return self.fit(X).transform(X)


class FeatureSource(Protocol):
    """Where a learner reads encoded features from, a set of rows at a time."""

    @property
    def n_rows(self) -> int:
        """Return the number of rows."""
        ...

    @property
    def n_features(self) -> int:
        """Return the number of encoded columns."""
        ...

    def rows(
        self,
        mask: npt.NDArray[np.bool_] | None = None,
        out: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.float64]:
        """Return the encoded rows where mask is set (all rows for None), into out if given.

        The result may be shared (a source's own matrix): callers must not modify it.
        """
        ...


@dataclass(frozen=True)
class MatrixSource:
    """Rows of an already encoded matrix (copied only when a subset or out is asked for)."""

    matrix: npt.NDArray[np.float64]

    @property
    def n_rows(self) -> int:
        """Return the number of rows."""
        return int(self.matrix.shape[0])

    @property
    def n_features(self) -> int:
        """Return the number of encoded columns."""
        return int(self.matrix.shape[1])

    def rows(
        self,
        mask: npt.NDArray[np.bool_] | None = None,
        out: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.float64]:
        """Return the rows where mask is set, without a copy when that is every row."""
        every = mask is None or bool(mask.all())
        if out is None:
            return self.matrix if every else self.matrix[mask]
        out[...] = self.matrix if every else self.matrix[mask]
        return out


@dataclass(frozen=True)
class FrameSource:
    """Rows of a DataFrame, encoded on demand: the whole matrix never has to exist at once."""

    encoder: FeatureEncoder
    frame: pd.DataFrame

    @property
    def n_rows(self) -> int:
        """Return the number of rows."""
        return len(self.frame)

    @property
    def n_features(self) -> int:
        """Return the number of encoded columns."""
        return len(self.encoder.feature_names_out_)

    def rows(
        self,
        mask: npt.NDArray[np.bool_] | None = None,
        out: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.float64]:
        """Encode the rows where mask is set."""
        return self.encoder.transform(self.frame, rows=mask, out=out)
