"""CLV: the textbook formulas, BG/NBD probability alive by hand, and the fitted model."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import hyp2f1

from campaign_engine.traits.buyers import fold_orders
from campaign_engine.traits.clv import (
    BuyerHistory,
    ClvModel,
    ClvUnavailable,
    customer_equity,
    expected_purchases,
    net_clv,
    simple_clv,
)

# Fader, Hardie & Lee's CDNOW estimates (time in weeks), and Gamma-Gamma from Hardie's note 025.
BGNBD = (0.243, 4.414, 0.793, 2.426)
GAMMA_GAMMA = (6.25, 3.74, 15.44)


def simulate(n: int, seed: int, params: tuple[float, float, float, float]) -> BuyerHistory:
    """Draw BG/NBD buyers observed for 60-720 days, with Gamma-distributed order values."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    age = rng.integers(60, 720, n).astype(float)
    frequency, recency = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = rng.exponential(1 / rate[i])
        while t <= age[i]:
            frequency[i] += 1
            recency[i] = np.floor(t)
            if rng.random() < dropout[i]:
                break
            t += rng.exponential(1 / rate[i])
    value = np.where(frequency > 0, rng.gamma(3.0, 20.0, n), 0.0)
    return BuyerHistory(frequency, recency, age, value)


@pytest.fixture(scope="module")
def buyers() -> BuyerHistory:
    return simulate(4000, seed=1, params=(0.5, 20.0, 0.8, 2.5))


def test_histories_count_order_days_and_value_only_the_repeat_days() -> None:
    ordered_at = np.array(
        [
            "2024-01-05T09:00",  # contact 1's repeat day
            "2024-01-01T10:00",  # contact 1's first day, two orders
            "2024-01-01T15:00",
            "2024-01-03T00:00",  # contact 2's only order
            "2024-01-10T23:59:59.999999",  # contact 3, the last moment of the as-of day
            "2024-01-11T00:00",  # after the as-of day: ignored
        ],
        dtype="datetime64[us]",
    )
    buyers = fold_orders(
        contact_id=np.array([1, 1, 1, 2, 3, 1]),
        ordered_at=ordered_at,
        revenue=np.array([40.0, 10.0, 20.0, 5.0, 7.0, 1000.0]),
        as_of=date(2024, 1, 10),
        window_days=7,
    )
    history = buyers.history()

    assert buyers.contact_id.tolist() == [1, 2, 3]
    assert buyers.orders_total.tolist() == [3, 1, 1]
    assert buyers.revenue_total.tolist() == [70.0, 5.0, 7.0]
    assert buyers.window_orders.tolist() == [1, 0, 1]  # the window starts 2024-01-04 00:00
    assert buyers.recency_days.tolist() == [5, 7, 0]
    assert history.frequency.tolist() == [1.0, 0.0, 0.0]
    assert history.recency.tolist() == [4.0, 0.0, 0.0]
    assert history.age.tolist() == [9.0, 7.0, 0.0]
    assert history.repeat_value.tolist() == [40.0, 0.0, 0.0]


def test_simple_clv_is_order_value_times_orders_per_year_times_years() -> None:
    assert simple_clv(50, 4, 3) == 600


def test_net_clv_subtracts_acquisition_and_yearly_service_cost() -> None:
    assert net_clv(50, 4, 3, acquisition_cost=100, service_cost_per_year=20) == 440


def test_customer_equity_discounts_retained_margin_at_each_year_end() -> None:
    equity = customer_equity(annual_margin=60, retention=0.8, discount_rate=0.1, years=3)

    assert equity == pytest.approx(123.0654, abs=1e-4)
    assert round(equity, 2) == 123.07


def hand_p_alive(x: float, t_x: float, age: float) -> float:
    """BG/NBD probability alive in closed form (Fader, Hardie & Lee 2005, eq. 13)."""
    r, alpha, a, b = BGNBD
    if x == 0:
        return 1.0
    return 1 / (1 + (a / (b + x - 1)) * ((alpha + age) / (alpha + t_x)) ** (r + x))


@pytest.mark.parametrize(
    ("x", "t_x", "age"),
    [(2, 30.43, 38.86), (1, 1.71, 38.86), (7, 35.0, 38.0), (3, 5.0, 70.0), (0, 0.0, 38.86)],
)
def test_p_alive_matches_the_closed_form(x: float, t_x: float, age: float) -> None:
    model = ClvModel.from_params(BGNBD, GAMMA_GAMMA)
    history = BuyerHistory(np.array([x]), np.array([t_x]), np.array([age]), np.array([0.0]))

    assert model.p_alive(history)[0] == pytest.approx(hand_p_alive(x, t_x, age), rel=1e-12)


def test_p_alive_reference_value() -> None:
    # By hand: 0.793/3.426 = 0.23147; (43.274/34.844)^2.243 = 1.62580; 1 / (1 + 0.37632) = 0.7266.
    model = ClvModel.from_params(BGNBD, GAMMA_GAMMA)
    history = BuyerHistory(np.array([2.0]), np.array([30.43]), np.array([38.86]), np.zeros(1))

    assert model.p_alive(history)[0] == pytest.approx(0.7266, abs=1e-4)


def lifetimes_beta_geo(params: tuple[float, ...]) -> object:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' import warns under pandas 3
        from lifetimes import BetaGeoFitter

    bgf = BetaGeoFitter()
    bgf.params_ = dict(zip(("r", "alpha", "a", "b"), params, strict=True))
    return bgf


positive = st.floats(min_value=0.05, max_value=20.0)


@settings(max_examples=50, deadline=None)
@given(
    st.tuples(positive, st.floats(min_value=1.0, max_value=500.0), positive, positive),
    st.integers(min_value=1, max_value=40),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=1.0, max_value=700.0),
    st.floats(min_value=1.0, max_value=400.0),
)
def test_expected_purchases_match_lifetimes_for_repeat_buyers(
    params: tuple[float, float, float, float], x: int, share: float, age: float, t: float
) -> None:
    history = BuyerHistory(
        np.array([float(x)]), np.array([share * age]), np.array([age]), np.zeros(1)
    )
    bgf = lifetimes_beta_geo(params)
    with np.errstate(all="ignore"):
        theirs = bgf.conditional_expected_number_of_purchases_up_to_time(  # type: ignore[attr-defined]
            t, history.frequency, history.recency, history.age
        )
    ours = expected_purchases(params, [t], history)[0]

    if np.isfinite(theirs).all() and abs(params[2] - 1) > 1e-3:
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)


def test_expected_purchases_stay_right_where_lifetimes_gives_nan() -> None:
    # a + b < 1: for a one-day buyer c = a + b - 1 < 0 and the hypergeometric term is negative.
    params = (2.74, 453.0, 0.0294, 0.723)
    r, alpha, a, b = params
    history = BuyerHistory(np.zeros(2), np.zeros(2), np.array([88.0, 276.0]), np.zeros(2))
    with np.errstate(all="ignore"):
        theirs = lifetimes_beta_geo(params).conditional_expected_number_of_purchases_up_to_time(  # type: ignore[attr-defined]
            365.0, history.frequency, history.recency, history.age
        )
    # Eq. 10 for x = 0 evaluated directly, without logarithms.
    age = history.age
    z = 365 / (alpha + age + 365)
    direct = (a + b - 1) / (a - 1) * (1 - hyp2f1(r, b, a + b - 1, z) * (1 - z) ** r)

    ours = expected_purchases(params, [365.0], history)[0]

    assert np.isnan(theirs).all()
    assert ours == pytest.approx(direct, rel=1e-9)
    assert (ours > 0).all()


def test_expected_purchases_grow_with_the_horizon(buyers: BuyerHistory) -> None:
    model = ClvModel().fit(buyers)

    upto = expected_purchases(model.bgnbd_params_, [30.0, 90.0, 365.0], buyers)

    assert (np.diff(upto, axis=0) >= 0).all()
    assert (upto[0] >= 0).all()


def test_fit_recovers_the_simulated_purchase_process(buyers: BuyerHistory) -> None:
    model = ClvModel().fit(buyers)
    r, alpha, a, b = model.bgnbd_params_

    assert r == pytest.approx(0.5, rel=0.2)
    assert alpha == pytest.approx(20.0, rel=0.25)
    assert a == pytest.approx(0.8, rel=0.4)
    assert b == pytest.approx(2.5, rel=0.4)


def test_forecast_is_bounded_and_ranks_recent_frequent_buyers_higher(
    buyers: BuyerHistory,
) -> None:
    model = ClvModel().fit(buyers)
    probe = BuyerHistory(
        frequency=np.array([10.0, 10.0, 0.0]),
        recency=np.array([355.0, 20.0, 0.0]),
        age=np.array([360.0, 360.0, 360.0]),
        repeat_value=np.array([60.0, 60.0, 0.0]),
    )

    forecast = model.predict(probe)

    assert forecast.p_alive[0] > 0.9 > 0.3 > forecast.p_alive[1]
    assert forecast.p_alive[2] == 1.0
    assert forecast.expected_purchases[0] > forecast.expected_purchases[1]
    assert forecast.clv[0] > forecast.clv[1] > 0
    assert forecast.clv[2] > 0  # one-day buyers are valued at the population mean order value


def test_clv_over_360_days_equals_lifetimes_own_customer_lifetime_value(
    buyers: BuyerHistory,
) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' import warns under pandas 3
        import pandas as pd
        from lifetimes import BetaGeoFitter, GammaGammaFitter

    model = ClvModel().fit(buyers)
    bgf, ggf = BetaGeoFitter(), GammaGammaFitter()
    bgf.params_ = pd.Series(model.bgnbd_params_, index=["r", "alpha", "a", "b"])
    ggf.params_ = pd.Series(model.gamma_gamma_params_, index=["p", "q", "v"])
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    frame = pd.DataFrame(vars(buyers))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = ggf.customer_lifetime_value(
            bgf,
            frame["frequency"],
            frame["recency"],
            frame["age"],
            frame["repeat_value"],
            time=12,
            discount_rate=0.01,
            freq="D",
        ).to_numpy()

    ours = model.predict(buyers, horizon_days=360).clv
    assert ours == pytest.approx(expected, rel=1e-9)


def test_same_seed_gives_the_same_fit_on_a_sample(buyers: BuyerHistory) -> None:
    first = ClvModel(sample_size=1500, seed=7).fit(buyers)
    again = ClvModel(sample_size=1500, seed=7).fit(buyers)
    other = ClvModel(sample_size=1500, seed=8).fit(buyers)

    assert first.bgnbd_params_ == again.bgnbd_params_
    assert first.bgnbd_params_ != other.bgnbd_params_


def test_too_few_repeat_buyers_leaves_clv_unavailable() -> None:
    n = 50
    history = BuyerHistory(
        frequency=np.r_[np.ones(19), np.zeros(n - 19)],
        recency=np.r_[np.full(19, 10.0), np.zeros(n - 19)],
        age=np.full(n, 100.0),
        repeat_value=np.r_[np.full(19, 30.0), np.zeros(n - 19)],
    )

    with pytest.raises(ClvUnavailable, match="only 19 repeat buyers"):
        ClvModel().fit(history)


def test_buyers_who_bought_every_day_are_forecast_to_keep_buying_daily() -> None:
    n = 40
    history = BuyerHistory(
        frequency=np.full(n, 99.0),
        recency=np.full(n, 99.0),
        age=np.full(n, 99.0),
        repeat_value=np.full(n, 25.0),
    )

    forecast = ClvModel().fit(history).predict(history)

    assert forecast.expected_purchases == pytest.approx(np.full(n, 365.0), rel=1e-3)
    assert forecast.p_alive == pytest.approx(np.ones(n))


def test_a_fit_that_fails_raises_clv_unavailable() -> None:
    n = 40
    history = BuyerHistory(
        frequency=np.full(n, 3.0),
        recency=np.full(n, 120.0),  # later than the buyers' age: lifetimes refuses to fit
        age=np.full(n, 99.0),
        repeat_value=np.full(n, 25.0),
    )

    with pytest.raises(ClvUnavailable, match="did not fit"):
        ClvModel().fit(history)
