"""The charts of a model's page, drawn from a version's stored metrics and its policy curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from admin.charts import (
    Bar,
    BarGroup,
    Format,
    Mark,
    Series,
    curve_chart,
    grouped_bar_chart,
    percent,
    plain,
)
from campaign_engine.uplift_models.views import ModelPage

MODEL, PROPENSITY, RANDOM = "Uplift model", "Response propensity", "Random"


def share(value: float) -> str:
    """Format a share contacted as a whole percentage (the curves step by 2%)."""
    return f"{value:.0%}"


def _deciles(rows: Sequence[dict[str, Any]], key: str) -> list[float | None]:
    return [row.get(key) for row in rows]


def qini_chart(metrics: dict[str, Any], unit: str) -> Markup:
    """Return the Qini curves of the model, response propensity and random on held-out members."""
    curves, members = metrics["curves"], metrics["test_rows"]

    def scaled(name: str) -> list[float | None]:
        return [value * members for value in curves[name]]

    return curve_chart(
        curves["share"],
        [
            Series(MODEL, scaled("model")),
            Series(PROPENSITY, scaled("propensity")),
            Series(RANDOM, scaled("random")),
        ],
        title=f"Qini curves: incremental {unit} among {members:,} held-out members, "
        "by share contacted",
        x_fmt=share,
    )


def decile_chart(metrics: dict[str, Any], fmt: Format) -> Markup:
    """Return observed uplift (treated minus control rate) per decile, model against propensity."""
    ours = _deciles(metrics["deciles"], "observed_uplift")
    theirs = _deciles(metrics.get("propensity_deciles", []), "observed_uplift")
    groups = [
        BarGroup(
            str(i + 1),
            [Bar(MODEL, value), Bar(PROPENSITY, theirs[i] if i < len(theirs) else None)],
        )
        for i, value in enumerate(ours)
    ]
    return grouped_bar_chart(
        groups, title="Observed uplift per decile of score (1 = highest)", fmt=fmt
    )


def calibration_chart(metrics: dict[str, Any], fmt: Format) -> Markup:
    """Return predicted against observed uplift per decile of the model's score."""
    rows = metrics["calibration"]
    groups = [
        BarGroup(
            str(row["bin"]),
            [
                Bar("Predicted", row.get("predicted_uplift")),
                Bar("Observed", row.get("observed_uplift")),
            ],
        )
        for row in rows
    ]
    return grouped_bar_chart(
        groups, title="Calibration: predicted against observed uplift per decile", fmt=fmt
    )


def policy_charts(page: ModelPage) -> dict[str, Markup]:
    """Return expected incremental outcome and profit against share contacted, best share marked."""
    policy = page.policy
    if policy is None:
        return {}
    shares = [row["share"] for row in policy.rows]
    best = policy.best
    mark = Mark(best["share"], f"best: {best['share']:.0%}")
    of = f"an audience of {policy.audience:,}"
    return {
        "incremental": curve_chart(
            shares,
            [
                Series(
                    f"Incremental {page.unit}", [r["incremental_conversions"] for r in policy.rows]
                )
            ],
            title=f"Expected incremental {page.unit} by share contacted, of {of}",
            x_fmt=share,
            marks=[mark],
        ),
        "profit": curve_chart(
            shares,
            [Series("Profit", [r["profit"] for r in policy.rows])],
            title=f"Expected profit by share contacted, of {of}",
            fmt=plain,
            x_fmt=share,
            marks=[mark],
        ),
    }


def model_charts(page: ModelPage) -> dict[str, Markup]:
    """Return every chart of a model's page by name (none when the version has no metrics)."""
    metrics = page.metrics
    if not metrics.get("curves"):
        return {}
    fmt = percent if page.unit == "conversions" else plain
    return {
        "qini": qini_chart(metrics, page.unit),
        "deciles": decile_chart(metrics, fmt),
        "calibration": calibration_chart(metrics, fmt),
        **policy_charts(page),
    }
