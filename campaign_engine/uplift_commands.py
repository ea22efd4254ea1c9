"""The `uplift` command: define, list, show, train, evaluate, score, promote, roll back models."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import Any, TextIO

import click

from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.invocation import Invocation, pass_invocation
from campaign_engine.models.types import utcnow

CLI_USER = "cli"
DECILE_COLUMNS = (
    ("bin", "decile", "{:>6}"),
    ("rows", "rows", "{:>6,}"),
    ("treated", "treated", "{:>7,}"),
    ("control", "control", "{:>7,}"),
    ("treated_rate", "treated rate", "{:>12}"),
    ("control_rate", "control rate", "{:>12}"),
    ("observed_uplift", "observed uplift", "{:>15}"),
    ("predicted_uplift", "predicted uplift", "{:>16}"),
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
quiet_option = click.option("--quiet", is_flag=True, help="No progress output.")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _qini(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _read_definition(source: TextIO) -> Any:
    where = "standard input" if source.name == "<stdin>" else str(source.name)
    try:
        return json.loads(source.read())
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{where} is not valid JSON", [Problem(f"line {exc.lineno}", exc.msg)]
        ) from None


@click.group()
def uplift() -> None:
    """Define, train, evaluate, score, promote and roll back uplift models."""


@uplift.command("define")
@click.argument("source", metavar="PATH", type=click.File("r", encoding="utf-8"))
@pass_invocation
def uplift_define(inv: Invocation, source: TextIO) -> None:
    """Save the model definition in the JSON file PATH (`-`: standard input).

    A definition names the model and says how it trains (format: docs/uplift.md), e.g.
    {"name": "offer", "learner": "auto", "training": {"campaigns": [12, 14]}}.
    """
    from campaign_engine.uplift_models.actions import define

    data = _read_definition(source)
    with transaction(inv.migrated_runtime.sessions) as session:
        saved = define(session, data, CLI_USER)
    click.echo(f"{'created' if saved.created else 'updated'} uplift model {saved.name!r}")


@uplift.command("list")
@json_option
@pass_invocation
def uplift_list(inv: Invocation, as_json: bool) -> None:
    """List models: name, outcome, promoted version and learner, its Qini, last scoring."""
    from campaign_engine.uplift_models.views import list_model_rows

    with transaction(inv.migrated_runtime.sessions) as session:
        rows = list_model_rows(session)
    if as_json:
        _echo_json([asdict(row) for row in rows])
        return
    if not rows:
        click.echo("no uplift models yet: define one with `campaign-engine uplift define FILE`")
    for row in rows:
        promoted = row.promoted
        using = f"v{promoted.version} ({promoted.learner})" if promoted else "none promoted"
        qini = f"Qini {_qini(promoted.qini_model)}" if promoted else ""
        run = row.last_run
        scored = f"last scoring {run.status}, {run.scored:,} contacts" if run else "never scored"
        click.echo(f"{row.name:24}  {row.spec['outcome']:10}  {using:18}  {qini:11}  {scored}")


@uplift.command("show")
@click.argument("name")
@json_option
@pass_invocation
def uplift_show(inv: Invocation, name: str, as_json: bool) -> None:
    """Show a model's definition and versions: learner, normalised Qini against propensity."""
    from campaign_engine.uplift_models.views import describe_model

    with transaction(inv.migrated_runtime.sessions) as session:
        found = describe_model(session, name)
    if as_json:
        _echo_json(found)
        return
    spec = found["spec"]
    training = spec["training"]
    on = (
        f"campaigns {', '.join(map(str, training['campaigns']))}"
        if training.get("campaigns")
        else f"{', '.join(training['campaign_types'])} campaigns of the last "
        f"{training['days']} days"
    )
    click.echo(f"{found['name']}: {spec['outcome']} uplift, learner {spec['learner']}, on {on}")
    retrain = f"every {spec['retrain_days']} days" if spec["retrain_days"] else "on request"
    click.echo(f"retrains {retrain}; auto-promote {'on' if spec['auto_promote'] else 'off'}")
    if found["train_requested_at"]:
        click.echo(f"training requested at {found['train_requested_at']:%Y-%m-%d %H:%M} UTC")
    if not found["versions"]:
        click.echo("no versions yet: train one with `campaign-engine uplift train NAME`")
    else:
        click.echo(
            f"{'version':>7}  {'status':9}  {'learner':7}  {'Qini':>7}  {'propens.':>8}  "
            f"{'rows':>9}  trained"
        )
    for v in found["versions"]:
        click.echo(
            f"{v['version']:>7}  {v['status']:9}  {v['learner']:7}  {_qini(v['qini_model']):>7}"
            f"  {_qini(v['qini_propensity']):>8}  {v['n_rows']:>9,}"
            f"  {v['trained_at']:%Y-%m-%d %H:%M} by {v['trained_by'] or '-'}"
        )
    run = found["last_run"]
    if run:
        click.echo(
            f"last scoring: v{run['version']} {run['status']}, {run['scored']:,} contacts,"
            f" {run['batches_done']}/{run['batches']} batches, as of {run['as_of']:%Y-%m-%d %H:%M}"
        )


@uplift.command("train")
@click.argument("name")
@click.option(
    "--campaign", "campaigns", type=int, multiple=True, help="Train on this campaign (repeat)."
)
@click.option(
    "--promote/--no-promote",
    default=None,
    help="Promote the new version, or not. Default: the model's auto-promote rule.",
)
@quiet_option
@json_option
@pass_invocation
def uplift_train(
    inv: Invocation,
    name: str,
    campaigns: tuple[int, ...],
    promote: bool | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Train a new version of model NAME on its campaigns (or on --campaign ones)."""
    from campaign_engine.uplift_models.jobs import train

    started = time.monotonic()

    def progress(step: str) -> None:
        if not quiet:
            click.echo(f"[{time.monotonic() - started:6.1f} s] {step}", err=True)

    trained = train(
        inv.migrated_runtime,
        name,
        campaign_ids=list(campaigns) or None,
        trained_by=CLI_USER,
        promote=promote,
        progress=progress,
    )
    if as_json:
        _echo_json(asdict(trained))
        return
    qini = trained.metrics["normalised_qini"]
    click.echo(
        f"trained {trained.model!r} version {trained.version} (learner {trained.learner}) in "
        f"{time.monotonic() - started:.1f} s: normalised Qini {_qini(qini['model'])}, response "
        f"propensity {_qini(qini['propensity'])}, random 0"
    )
    if trained.promoted:
        click.echo(f"version {trained.version} is promoted: scoring and campaigns use it")
    else:
        click.echo(
            f"not promoted; promote it with `campaign-engine uplift promote {trained.model} "
            f"{trained.version}`"
        )


def _echo_evaluation(found: Any) -> None:
    from campaign_engine.uplift_models.views import OUTCOME_UNITS

    metrics = found.metrics
    unit = OUTCOME_UNITS.get(found.outcome, found.outcome)
    if found.source == "held_out":
        where = f"the held-out 30% of campaign(s) {', '.join(map(str, found.campaign_ids))}"
    else:
        where = f"the members of campaign(s) {', '.join(map(str, found.campaign_ids))}"
    click.echo(
        f"{found.model!r} version {found.version} ({found.status}, learner {found.learner}) on "
        f"{where}: {metrics['test_rows']:,} members, {metrics['test_treated']:,} treated"
    )
    if found.in_sample:
        click.echo(
            f"note: version {found.version} was trained on campaign(s) "
            f"{', '.join(map(str, found.in_sample))}: these figures are in-sample (optimistic)"
        )
    qini, top = metrics["normalised_qini"], metrics["incremental_at_30"]
    click.echo(
        f"normalised Qini: model {_qini(qini['model'])}, response propensity "
        f"{_qini(qini['propensity'])}, random {_qini(qini['random'])}"
    )
    click.echo(
        f"incremental {unit} with the top 30% contacted: model {top['model']:,.1f}, "
        f"response propensity {top['propensity']:,.1f}, random {top['random']:,.1f}"
    )
    if "true_effect_correlation" in metrics:
        click.echo(f"correlation with the true effect: {metrics['true_effect_correlation']:.3f}")
    click.echo("  ".join(heading for _, heading, _ in DECILE_COLUMNS))
    for row in metrics["deciles"]:
        cells = []
        for key, heading, shape in DECILE_COLUMNS:
            value = row[key]
            if key.endswith(("_rate", "_uplift")):
                value = _rate(value) if found.outcome == "conversion" else f"{value or 0:,.2f}"
            cells.append(shape.format(value).rjust(len(heading)))
        click.echo("  ".join(cells))


@uplift.command("evaluate")
@click.argument("name")
@click.option("--version", "number", type=int, help="Default: the promoted version.")
@click.option(
    "--campaign",
    "campaigns",
    type=int,
    multiple=True,
    help="Evaluate on this campaign's members instead of the held-out ones (repeat).",
)
@json_option
@pass_invocation
def uplift_evaluate(
    inv: Invocation, name: str, number: int | None, campaigns: tuple[int, ...], as_json: bool
) -> None:
    """Print a version's normalised Qini against propensity and random, and its deciles.

    Without --campaign: the metrics on the 30% of its training members kept out of fitting.
    With --campaign: the version scores those campaigns' members (they need a holdout);
    response propensity is cross-fitted on their treated members.
    """
    from campaign_engine.uplift_models.evaluate import evaluate_on_campaigns, held_out

    runtime = inv.migrated_runtime
    if campaigns:
        found = evaluate_on_campaigns(runtime, name, list(campaigns), version=number)
    else:
        with transaction(runtime.sessions) as session:
            found = held_out(session, name, number)
    if as_json:
        _echo_json(found.as_dict())
        return
    _echo_evaluation(found)


@uplift.command("score")
@click.argument("name")
@click.option("--version", "number", type=int, help="Default: the promoted version.")
@quiet_option
@json_option
@pass_invocation
def uplift_score(
    inv: Invocation, name: str, number: int | None, quiet: bool, as_json: bool
) -> None:
    """Score every contact with model NAME and rank them; batches run on workers if configured."""
    from campaign_engine.uplift_models.jobs import score

    with click.progressbar(
        length=1, label="scoring contacts", file=sys.stderr, hidden=quiet or as_json
    ) as bar:

        def on_batch(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        run = score(inv.migrated_runtime, name, version=number, on_batch=on_batch)
    if as_json:
        _echo_json({c.key: getattr(run, c.key) for c in run.__table__.columns})
        return
    click.echo(
        f"scored {run.scored:,} contacts in {run.batches:,} batch(es) as of "
        f"{run.as_of:%Y-%m-%d %H:%M} UTC: {run.status}"
    )


@uplift.command("promote")
@click.argument("name")
@click.argument("version", type=int)
@pass_invocation
def uplift_promote(inv: Invocation, name: str, version: int) -> None:
    """Make VERSION of model NAME the one scoring, campaigns and journeys use."""
    from campaign_engine.uplift_models.actions import promote_number

    with transaction(inv.migrated_runtime.sessions) as session:
        switched = promote_number(session, name, version, utcnow())
    replaced = f" (version {switched.replaced} retired)" if switched.replaced else ""
    click.echo(f"{switched.model!r} version {switched.version} promoted{replaced}")


@uplift.command("rollback")
@click.argument("name")
@pass_invocation
def uplift_rollback(inv: Invocation, name: str) -> None:
    """Promote again the version of model NAME that was in use before the current one."""
    from campaign_engine.uplift_models.actions import roll_back

    with transaction(inv.migrated_runtime.sessions) as session:
        switched = roll_back(session, name, utcnow())
    click.echo(
        f"{switched.model!r} rolled back to version {switched.version}"
        f" (version {switched.replaced} retired)"
    )
