"""The `journey` command: save, validate, publish, steer, simulate and install journeys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from campaign_engine.db import transaction
from campaign_engine.invocation import Invocation, pass_invocation, read_json
from campaign_engine.models.types import utcnow

ACTIONS = {
    "publish": "Publish the draft as a new version (new entries get it).",
    "pause": "Stop entries and moves; contacts keep their place.",
    "resume": "Carry on a paused journey.",
    "archive": "Retire a journey for good.",
}


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _body(data: Any) -> Any:
    """Accept a bare definition (with `nodes`) or a body {name, description, definition}."""
    return {"definition": data} if isinstance(data, dict) and "nodes" in data else data


def _echo_problems(problems: list[Any]) -> None:
    for problem in problems:
        click.echo(f"  {problem}")


@click.group()
def journey() -> None:
    """Save, validate, publish, pause, resume, simulate and install journeys."""


@journey.command("list")
@pass_invocation
def journey_list(inv: Invocation) -> None:
    """List journeys: id, status, version, contacts in the journey, converted, name."""
    from campaign_engine.journeys.service import list_journeys

    with transaction(inv.migrated_runtime.sessions) as session:
        for row in list_journeys(session):
            version = f"v{row['version']}" if row["version"] else "-"
            counts = row["counts"]
            click.echo(
                f"{row['id']:>5}  {row['status']:9}  {version:5}  {counts['in_journey']:>8,}"
                f"  {counts['converted']:>8,}  {row['name']}"
            )


@journey.command("show")
@click.argument("journey_id", type=int)
@pass_invocation
def journey_show(inv: Invocation, journey_id: int) -> None:
    """Print a journey (draft, problems, versions, counts) and its stats as JSON."""
    from campaign_engine.journeys.analytics import journey_stats
    from campaign_engine.journeys.service import describe_journey

    with transaction(inv.migrated_runtime.sessions) as session:
        _echo_json(
            describe_journey(session, journey_id) | {"stats": journey_stats(session, journey_id)}
        )


@journey.command("save")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "journey_id", type=int, help="Replace this journey's draft instead.")
@pass_invocation
def journey_save(inv: Invocation, path: Path, journey_id: int | None) -> None:
    """Save the journey in the JSON file PATH as a draft (format: docs/journeys.md).

    PATH holds a definition, or {"name", "description", "definition"}.
    """
    from campaign_engine.journeys.service import check_draft, create_journey, update_journey

    body = _body(read_json(path))
    with transaction(inv.migrated_runtime.sessions) as session:
        if journey_id is None:
            saved = create_journey(session, body)
        else:
            saved = update_journey(session, journey_id, body)
        problems = check_draft(session, saved.draft)
        click.echo(f"saved journey {saved.id} ({saved.name}), {saved.status}")
    if problems:
        click.echo(f"the draft has {len(problems)} problem(s) to fix before publishing:")
        _echo_problems(problems)


@journey.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_invocation
def journey_validate(inv: Invocation, path: Path) -> None:
    """Print every problem with the journey definition in PATH, one per line with its step."""
    from campaign_engine.journeys.service import check_draft

    data = read_json(path)
    definition = data.get("definition", data) if isinstance(data, dict) else data
    with transaction(inv.migrated_runtime.sessions) as session:
        problems = check_draft(session, definition)
    if not problems:
        click.echo("the journey is valid")
        return
    click.echo(f"{len(problems)} problem(s):")
    _echo_problems(problems)
    raise SystemExit(1)


def _steer(inv: Invocation, action: str, journey_id: int) -> None:
    from campaign_engine.journeys import service

    with transaction(inv.migrated_runtime.sessions) as session:
        match action:
            case "publish":
                version = service.publish(session, journey_id, None, utcnow())
                click.echo(f"published version {version.version} of journey {journey_id}")
            case "pause":
                service.pause(session, journey_id)
            case "resume":
                service.resume(session, journey_id)
            case "archive":
                service.archive(session, journey_id, utcnow())
        click.echo(f"journey {journey_id} is {service.get_journey(session, journey_id).status}")


def _steering_command(action: str, help_text: str) -> click.Command:
    @click.argument("journey_id", type=int)
    @pass_invocation
    def command(inv: Invocation, journey_id: int) -> None:
        _steer(inv, action, journey_id)

    return click.command(action, help=help_text)(command)


for _action, _help in ACTIONS.items():
    journey.add_command(_steering_command(_action, _help))


@journey.command("simulate")
@click.argument("target")
@click.option("--days", type=int, default=30, show_default=True, help="Simulated days.")
@click.option("--sample", type=int, default=2_000, show_default=True, help="Contacts at most.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling and draw seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@pass_invocation
def journey_simulate(
    inv: Invocation, target: str, days: int, sample: int, seed: int, as_json: bool
) -> None:
    """Simulate journey TARGET (an id, or a JSON file) over stored contacts; sends nothing."""
    from campaign_engine.journeys.service import get_journey
    from campaign_engine.journeys.simulation import simulate_journey

    with transaction(inv.migrated_runtime.sessions) as session:
        if target.isdigit():
            definition = get_journey(session, int(target)).draft
        else:
            data = read_json(Path(target))
            definition = data.get("definition", data) if isinstance(data, dict) else data
        result = simulate_journey(session, definition, days=days, sample=sample, seed=seed)
    if as_json:
        _echo_json(result)
        return
    click.echo(
        f"{days} days from {result['start']}: {result['sampled']:,} of {result['population']:,}"
        f" contacts sampled, {result['entered']:,} entered, {result['held_out']:,} held out"
    )
    click.echo(f"{'step':16}  {'entered':>8}  {'waiting':>8}  {'ended':>8}  left by")
    for node_id, counts in result["nodes"].items():
        left = ", ".join(f"{branch} {n:,}" for branch, n in counts["left_by"].items())
        click.echo(
            f"{node_id:16}  {counts['entered']:>8,}  {counts['waiting']:>8,}"
            f"  {counts['ended']:>8,}  {left}"
        )
    outcomes = ", ".join(f"{status} {n:,}" for status, n in result["outcomes"].items())
    click.echo(f"outcomes: {outcomes or 'none'}")
    sends = ", ".join(f"{node} {n:,}" for node, n in result["sends"].items())
    click.echo(f"would send: {sends or 'nothing'}")


@journey.command("library")
@pass_invocation
def journey_library(inv: Invocation) -> None:
    """List the ready-made journeys: key, stage, title and what each needs."""
    from campaign_engine.journeys.library_install import library_entries

    for entry in library_entries():
        needs = ", ".join(f"{r['kind']} {r['name']}" for r in entry["requires"])
        click.echo(f"{entry['key']:26}  {entry['stage']:11}  {entry['title']}")
        click.echo(f"{'':26}  needs: {needs}")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, int]:
    chosen = {}
    for value in values:
        name, _, number = value.partition("=")
        if not number.isdigit():
            raise click.BadParameter(f"use NAME=ID, not {value!r}", param_hint=option)
        chosen[name] = int(number)
    return chosen


@journey.command("install")
@click.argument("key")
@click.option("--template", "templates", multiple=True, help="NAME=ID: the template to use.")
@click.option("--segment", "segments", multiple=True, help="NAME=ID: the segment to use.")
@pass_invocation
def journey_install(
    inv: Invocation, key: str, templates: tuple[str, ...], segments: tuple[str, ...]
) -> None:
    """Save library journey KEY as a draft, finding or creating what it needs."""
    from campaign_engine.journeys.library_install import install_from_library
    from campaign_engine.journeys.service import check_draft

    with transaction(inv.migrated_runtime.sessions) as session:
        saved = install_from_library(
            session,
            key,
            None,
            templates=_pairs(templates, "--template"),
            segments=_pairs(segments, "--segment"),
        )
        problems = check_draft(session, saved.draft)
        click.echo(f"installed journey {saved.id} ({saved.name}) as a draft")
    _echo_problems(problems)
