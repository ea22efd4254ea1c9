"""The `uplift` commands: define, list, show, train, evaluate, score, promote and roll back."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.models import Contact, UpliftModel, UpliftModelVersion, UpliftScore
from campaign_engine.runtime import Runtime
from tests.integration.test_commands import run
from tests.integration.test_ml_data import small_campaign
from tests.uplift_model_support import MODEL, add_versions, define_model, definition, seed_store


@pytest.fixture
def campaign_id(runtime: Runtime) -> int:
    return seed_store(runtime)


def versions(runtime: Runtime) -> dict[int, str]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(UpliftModelVersion.version, UpliftModelVersion.status))
        return {number: status for number, status in rows}


def test_define_reads_standard_input_and_updates_a_model_of_the_same_name(
    settings: Settings, runtime: Runtime
) -> None:
    body = definition(4, retrain_days=30, value=40.0, cost=0.5)
    created = run(settings, "uplift", "define", "-", stdin=json.dumps(body))
    assert created.exit_code == 0, created.output
    assert f"created uplift model '{MODEL}'" in created.output
    updated = run(settings, "uplift", "define", "-", stdin=json.dumps(body | {"learner": "x"}))
    assert f"updated uplift model '{MODEL}'" in updated.output
    with transaction(runtime.sessions) as session:
        (model,) = session.scalars(select(UpliftModel)).all()
        assert (model.learner, model.retrain_days, model.value) == ("x", 30, 40.0)
    listed = run(settings, "uplift", "list")
    assert MODEL in listed.output and "none promoted" in listed.output


def test_define_refuses_an_invalid_definition_naming_each_field(
    settings: Settings, runtime: Runtime
) -> None:
    body = {"name": "Bad Name", "training": {"campaigns": []}}
    result = run(settings, "uplift", "define", "-", stdin=json.dumps(body))
    assert result.exit_code == 1
    assert "the model definition is invalid" in result.output
    assert "name: String should match pattern" in result.output
    assert "training: give either campaigns" in result.output
    learner = run(
        settings, "uplift", "define", "-", stdin=json.dumps(definition(1, learner="magic"))
    )
    assert learner.exit_code == 1 and "unknown learner 'magic'" in learner.output
    not_json = run(settings, "uplift", "define", "-", stdin="{nope")
    assert not_json.exit_code == 1 and "standard input is not valid JSON" in not_json.output
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count(UpliftModel.id))) == 0


def test_train_reports_progress_stores_a_version_and_show_lists_it(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    with transaction(runtime.sessions) as session:
        define_model(session, campaign_id)
    result = run(settings, "uplift", "train", MODEL, "--promote")
    assert result.exit_code == 0, result.output
    assert "fitting 't' on" in result.output  # the progress lines (stderr, mixed in here)
    assert "evaluating on the held-out 30%" in result.output
    assert f"trained '{MODEL}' version 1 (learner t)" in result.output
    assert "version 1 is promoted" in result.output
    assert versions(runtime) == {1: "promoted"}
    with transaction(runtime.sessions) as session:
        stored = session.scalars(select(UpliftModelVersion)).one()
        qini = stored.metrics["normalised_qini"]
        assert stored.campaign_ids == [campaign_id] and stored.trained_by == "cli"
    shown = run(settings, "uplift", "show", MODEL)
    assert shown.exit_code == 0, shown.output
    line = next(row for row in shown.output.splitlines() if row.strip().startswith("1 "))
    assert "promoted" in line and f"{qini['model']:.3f}" in line
    assert f"{qini['propensity']:.3f}" in line
    as_json = json.loads(run(settings, "uplift", "show", MODEL, "--json").output)
    assert as_json["promoted"]["version"] == 1 and as_json["versions"][0]["learner"] == "t"


def test_train_without_promote_leaves_the_promoted_version_in_use(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    add_versions(runtime, campaign_id)
    result = run(settings, "uplift", "train", MODEL, "--no-promote", "--quiet", "--json")
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    assert trained["version"] == 2 and trained["promoted"] is False
    assert trained["metrics"]["learner"] == "t"
    assert versions(runtime) == {1: "promoted", 2: "candidate"}


@pytest.mark.parametrize(
    ("groups", "says"),
    [
        (("treatment", "treatment"), "holdout"),
        (("treatment", "control"), "too few rows per arm"),
    ],
    ids=["no-holdout", "too-few-rows"],
)
def test_train_refuses_campaigns_that_cannot_train_a_model(
    settings: Settings, runtime: Runtime, groups: tuple[str, ...], says: str
) -> None:
    with transaction(runtime.sessions) as session:
        define_model(session, small_campaign(session, groups))
    result = run(settings, "uplift", "train", MODEL)
    assert result.exit_code == 1
    assert says in result.output and "Traceback" not in result.output
    assert versions(runtime) == {}


def test_unknown_models_and_versions_are_errors(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    for args in (
        ("show", "nope"),
        ("train", "nope"),
        ("score", "nope"),
        ("evaluate", "nope"),
        ("rollback", "nope"),
    ):
        result = run(settings, "uplift", *args)
        assert result.exit_code == 1, args
        assert "uplift model 'nope' does not exist" in result.output, args
    with transaction(runtime.sessions) as session:
        define_model(session, campaign_id)
    no_version = run(settings, "uplift", "evaluate", MODEL)
    assert no_version.exit_code == 1 and "has no promoted version yet" in no_version.output
    assert run(settings, "uplift", "promote", MODEL, "3").exit_code == 1


def test_evaluate_prints_the_held_out_metrics_and_deciles(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    add_versions(runtime, campaign_id)
    result = run(settings, "uplift", "evaluate", MODEL)
    assert result.exit_code == 0, result.output
    with transaction(runtime.sessions) as session:
        metrics = session.scalars(select(UpliftModelVersion.metrics)).one()
    qini, top = metrics["normalised_qini"], metrics["incremental_at_30"]
    assert f"held-out 30% of campaign(s) {campaign_id}: {metrics['test_rows']:,} members" in (
        result.output
    )
    assert (
        f"normalised Qini: model {qini['model']:.3f}, response propensity "
        f"{qini['propensity']:.3f}, random 0.000"
    ) in result.output
    assert f"top 30% contacted: model {top['model']:,.1f}" in result.output
    table = result.output.split("predicted uplift\n", 1)[1].splitlines()
    assert [int(row.split()[0]) for row in table] == list(range(1, 11))
    first = metrics["deciles"][0]
    assert table[0].split()[1:4] == [
        str(first["rows"]),
        str(first["treated"]),
        str(first["control"]),
    ]
    assert json.loads(run(settings, "uplift", "evaluate", MODEL, "--json").output)["metrics"] == (
        metrics
    )


def test_evaluate_on_a_campaign_scores_all_its_members_and_flags_in_sample(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    add_versions(runtime, campaign_id)
    result = run(
        settings, "uplift", "evaluate", MODEL, "--version", "1", "--campaign", str(campaign_id)
    )
    assert result.exit_code == 0, result.output
    with transaction(runtime.sessions) as session:
        members = session.scalars(select(UpliftModelVersion.n_rows)).one()
    # Every member is scored, not only the held-out 30%, and the note says they trained it.
    assert f"members of campaign(s) {campaign_id}: {members:,} members" in result.output
    assert f"version 1 was trained on campaign(s) {campaign_id}" in result.output
    assert re.search(r"response propensity -?\d\.\d{3}, random 0\.000", result.output)
    table = result.output.split("predicted uplift\n", 1)[1].splitlines()
    assert sum(int(row.split()[1].replace(",", "")) for row in table) == members


def test_evaluate_on_a_campaign_without_holdout_is_refused(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    add_versions(runtime, campaign_id)
    with transaction(runtime.sessions) as session:
        other = small_campaign(session, ("treatment", "treatment"))
    result = run(settings, "uplift", "evaluate", MODEL, "--campaign", str(other))
    assert result.exit_code == 1 and "holdout" in result.output


def test_score_writes_one_ranked_score_per_contact(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    add_versions(runtime, campaign_id)
    result = run(settings, "uplift", "score", MODEL)
    assert result.exit_code == 0, result.output
    assert "scored 3,000 contacts in 1 batch(es)" in result.output and ": done" in result.output
    with transaction(runtime.sessions) as session:
        contacts = session.scalar(select(func.count(Contact.id)))
        scored = session.execute(
            select(func.count(UpliftScore.contact_id), func.min(UpliftScore.percentile))
        ).one()
    assert scored == (contacts, 0.0)


def test_promote_and_rollback_switch_the_version_in_use(
    settings: Settings, runtime: Runtime, campaign_id: int
) -> None:
    add_versions(runtime, campaign_id, count=2, promote=1)
    nothing_earlier = run(settings, "uplift", "rollback", MODEL)
    assert (
        nothing_earlier.exit_code == 1 and "no earlier promoted version" in nothing_earlier.output
    )
    promoted = run(settings, "uplift", "promote", MODEL, "2")
    assert promoted.exit_code == 0, promoted.output
    assert f"'{MODEL}' version 2 promoted (version 1 retired)" in promoted.output
    assert versions(runtime) == {1: "retired", 2: "promoted"}
    again = run(settings, "uplift", "promote", MODEL, "2")
    assert again.exit_code == 1 and "already promoted" in again.output
    back = run(settings, "uplift", "rollback", MODEL)
    assert back.exit_code == 0, back.output
    assert "rolled back to version 1 (version 2 retired)" in back.output
    assert versions(runtime) == {1: "promoted", 2: "retired"}
