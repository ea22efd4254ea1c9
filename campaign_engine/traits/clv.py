"""Forecast purchases, probability alive and CLV (BG/NBD + Gamma-Gamma); textbook CLV formulas."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy.special import hyp2f1  # type: ignore[import-untyped]

Floats = npt.NDArray[np.float64]
DAYS_PER_MONTH = 365 / 12


class ClvUnavailable(Exception):
    """The CLV model cannot be fitted or gives no usable forecast for this data."""


@dataclass(frozen=True)
class BuyerHistory:
    """Purchase histories in the lifetimes convention, one entry per buyer, time in days.

    `frequency` is repeat purchases (distinct order days - 1), `recency` the days from the first
    to the last order day, `age` (T) the days from the first order day to the as-of date, and
    `repeat_value` the mean revenue of the repeat order days (0 for one-day buyers).
    """

    frequency: Floats
    recency: Floats
    age: Floats
    repeat_value: Floats

    def __len__(self) -> int:
        return len(self.frequency)

    def subset(self, index: npt.NDArray[np.int64]) -> BuyerHistory:
        """Return the histories at the positions in `index`."""
        return BuyerHistory(
            self.frequency[index], self.recency[index], self.age[index], self.repeat_value[index]
        )


@dataclass(frozen=True)
class ClvForecast:
    """Per buyer: expected purchases and discounted CLV over the horizon, probability alive."""

    expected_purchases: Floats
    p_alive: Floats
    clv: Floats


class ClvModel:
    """BG/NBD for purchase counts and survival, Gamma-Gamma for the value of an order.

    `fit` uses at most `sample_size` buyers, drawn with `seed`, so the fit costs the same at any
    size; `predict` then scores every buyer. A model with fewer than `min_repeat_buyers` repeat
    buyers in its sample, or whose fit fails, raises `ClvUnavailable`.
    """

    def __init__(
        self,
        penalizer: float = 0.001,
        sample_size: int = 100_000,
        seed: int = 0,
        min_repeat_buyers: int = 20,
    ) -> None:
        self.penalizer = penalizer
        self.sample_size = sample_size
        self.seed = seed
        self.min_repeat_buyers = min_repeat_buyers

    @classmethod
    def from_params(
        cls, bgnbd: tuple[float, float, float, float], gamma_gamma: tuple[float, float, float]
    ) -> Self:
        """Return a model with given BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, v) values."""
        model = cls()
        model.bgnbd_params_ = bgnbd
        model.gamma_gamma_params_ = gamma_gamma
        return model

    def fit(self, history: BuyerHistory) -> Self:
        """Fit both models on a sample of `history`."""
        sample = history
        if len(history) > self.sample_size:
            rng = np.random.default_rng(self.seed)
            sample = history.subset(
                np.sort(rng.choice(len(history), self.sample_size, replace=False))
            )
        repeat = (sample.frequency > 0) & (sample.repeat_value > 0)
        if int(repeat.sum()) < self.min_repeat_buyers:
            raise ClvUnavailable(
                f"only {int(repeat.sum())} repeat buyers in the fitting sample;"
                f" the CLV model needs {self.min_repeat_buyers}"
            )
        beta_geo, gamma_gamma = _fitters()
        # BG/NBD's likelihood depends only on (x, t_x, T): fit each distinct triple once, weighted.
        first, _, counts = _distinct([sample.frequency, sample.recency, sample.age])
        triples = sample.subset(first)
        # Gamma-Gamma's penalty is on its raw parameters, and v is in currency units: fit on
        # values in units of their mean, then scale v back (the model is scale-equivariant in v).
        unit = float(sample.repeat_value[repeat].mean())
        try:
            with _quiet():
                bgf = beta_geo(penalizer_coef=self.penalizer).fit(
                    triples.frequency, triples.recency, triples.age, weights=counts
                )
                ggf = gamma_gamma(penalizer_coef=self.penalizer).fit(
                    sample.frequency[repeat], sample.repeat_value[repeat] / unit
                )
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
            # lifetimes' ConvergenceError is a ValueError; a singular Hessian is a LinAlgError.
            raise ClvUnavailable(f"the CLV model did not fit: {str(error).strip()}") from error
        bgnbd = tuple(float(bgf.params_[k]) for k in ("r", "alpha", "a", "b"))
        p, q, v = (float(ggf.params_[k]) for k in ("p", "q", "v"))
        gg = (p, q, v * unit)
        if not all(np.isfinite(x) and x > 0 for x in (*bgnbd, *gg)):
            raise ClvUnavailable(f"the CLV model fitted unusable parameters {bgnbd + gg}")
        if q <= 1:
            # The Gamma-Gamma population mean order value v*p/(q - 1) needs q > 1.
            raise ClvUnavailable(f"the Gamma-Gamma fit has q = {q:.3g} ≤ 1; no mean order value")
        self.bgnbd_params_: tuple[float, ...] = bgnbd
        self.gamma_gamma_params_: tuple[float, ...] = gg
        return self

    def p_alive(self, history: BuyerHistory) -> Floats:
        """Return each buyer's probability of still being active at the as-of date."""
        bgf = self._beta_geo()
        with _quiet():
            alive = bgf.conditional_probability_alive(
                history.frequency, history.recency, history.age
            )
        return np.asarray(alive, dtype=np.float64)

    def predict(
        self, history: BuyerHistory, horizon_days: int = 365, monthly_discount: float = 0.01
    ) -> ClvForecast:
        """Forecast purchases, probability alive and discounted CLV over `horizon_days`.

        The horizon is cut into whole months (365/12 days each, at least one; 365 days → 12) and
        the horizon's length divided evenly among them; each month's expected purchases are
        valued at the Gamma-Gamma expected order value and discounted by (1 + monthly_discount)
        to the power of the month's number, as lifetimes' `customer_lifetime_value` does.
        """
        ggf = self._gamma_gamma()
        months = max(1, round(horizon_days / DAYS_PER_MONTH))
        ends = np.arange(1, months + 1) * (horizon_days / months)
        with _quiet():
            value = np.asarray(
                ggf.conditional_expected_average_profit(history.frequency, history.repeat_value)
            )
        upto = expected_purchases(self.bgnbd_params_, ends, history)
        per_month = np.diff(upto, axis=0, prepend=0.0)
        discount = (1 + monthly_discount) ** np.arange(1, months + 1, dtype=np.float64)
        forecast = {
            "expected_purchases": upto[-1],
            "p_alive": self.p_alive(history),
            "clv": value * (per_month / discount[:, np.newaxis]).sum(axis=0),
        }
        for name, values in forecast.items():
            if not np.isfinite(values).all() or (values < -1e-6).any():
                raise ClvUnavailable(f"the CLV model forecast invalid {name} values")
        # Rounding in the hypergeometric series can leave a dormant buyer at -1e-17.
        return ClvForecast(**{name: np.maximum(v, 0.0) for name, v in forecast.items()})

    def _beta_geo(self) -> Any:
        beta_geo, _ = _fitters()
        bgf = beta_geo()
        # lifetimes reads parameters by name from `params_`; a dict serves as well as a Series.
        bgf.params_ = dict(zip(("r", "alpha", "a", "b"), self.bgnbd_params_, strict=True))
        return bgf

    def _gamma_gamma(self) -> Any:
        _, gamma_gamma = _fitters()
        ggf = gamma_gamma()
        ggf.params_ = dict(zip(("p", "q", "v"), self.gamma_gamma_params_, strict=True))
        return ggf


def expected_purchases(
    bgnbd: tuple[float, ...], times: npt.ArrayLike, history: BuyerHistory
) -> Floats:
    """Return expected purchases in the first t days after the as-of date, per time and buyer.

    BG/NBD's conditional expectation (Fader, Hardie & Lee 2005, eq. 10), one row per time in
    `times`. Its hypergeometric term goes through Euler's transformation,
    2F1(r+x, b+x; c; z)*(1-z)^(r+x) = (1-z)^(a-1)*2F1(a+b-1-r, a-1; c; z) with c = a+b+x-1,
    which stays finite for any x and is right when c < 0, where lifetimes takes the logarithm
    of a negative number and returns NaN. The part that depends on (x, T) alone is computed
    once per distinct pair.
    """
    r, alpha, a, b = bgnbd
    t = np.asarray(times, dtype=np.float64).reshape(-1, 1)
    first, inverse, _ = _distinct([history.frequency, history.age])
    x, age = history.frequency[first], history.age[first]
    c = a + b + x - 1
    z = t / (alpha + age + t)
    with np.errstate(all="ignore"):
        tail = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        gained = (c / (a - 1) * (1 - tail))[:, inverse]
        x, t_x, age = history.frequency, history.recency, history.age
        ratio = np.where(x > 0, a / (b + np.maximum(x, 1) - 1), 0.0)
        dormant = ratio * ((alpha + age) / (alpha + t_x)) ** (r + x)
        result: Floats = gained / (1 + dormant)
    return result


def _distinct(
    columns: list[Floats],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Return one position per distinct row of `columns`, each row's group, and group sizes."""
    # np.unique(axis=0) sorts rows as opaque bytes and is ~100 times slower than lexsort.
    order = np.lexsort(columns[::-1])
    n = len(order)
    change = np.zeros(n, dtype=bool)
    change[:1] = True
    for column in columns:
        ordered = column[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(change)
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(change) - 1
    counts = np.diff(np.append(starts, n))
    return order[starts], inverse, counts


def _fitters() -> tuple[Any, Any]:
    """Return lifetimes' BetaGeoFitter and GammaGammaFitter classes."""
    with warnings.catch_warnings():
        # lifetimes imports pkg_resources and sets a pandas option deprecated in pandas 3.
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter  # type: ignore[import-untyped]
    return BetaGeoFitter, GammaGammaFitter


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence lifetimes while it fits or predicts."""
    # Its optimiser and special functions overflow harmlessly on extreme histories (RuntimeWarning),
    # its likelihood resets the global warning filters, and a failed fit prints the optimiser state.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def simple_clv(average_order_value: float, orders_per_year: float, years: float) -> float:
    """Return lifetime revenue: average order value * orders per year * expected years."""
    return average_order_value * orders_per_year * years


def net_clv(
    average_order_value: float,
    orders_per_year: float,
    years: float,
    acquisition_cost: float,
    service_cost_per_year: float,
) -> float:
    """Return lifetime revenue less the acquisition cost and the yearly cost of serving."""
    revenue = simple_clv(average_order_value, orders_per_year, years)
    return revenue - acquisition_cost - service_cost_per_year * years


def customer_equity(
    annual_margin: float, retention: float, discount_rate: float, years: int
) -> float:
    """Return the net present value of a customer's margin over `years`.

    Timing: the margin of year t = 1..years arrives at the end of that year, is weighted by the
    chance the customer is still there, retention^(t - 1) (certain in year 1), and is discounted
    by (1 + discount_rate)^t.
    """
    return sum(
        annual_margin * retention ** (t - 1) / (1 + discount_rate) ** t for t in range(1, years + 1)
    )
