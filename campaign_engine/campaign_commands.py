"""The `campaign` and `template` commands: save, launch, steer, dry-run and explain campaigns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from campaign_engine.db import transaction
from campaign_engine.invocation import Invocation, pass_invocation, read_json

ACTIONS = {
    "schedule": "Schedule a draft: it starts when its schedule falls due.",
    "unschedule": "Move a scheduled campaign back to draft.",
    "launch": "Send a draft or scheduled campaign now.",
    "pause": "Stop sending after the batch in flight.",
    "resume": "Carry on sending a paused campaign.",
    "cancel": "End a campaign; queued messages are cancelled.",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@click.group()
def campaign() -> None:
    """Save, schedule, launch, pause, resume, cancel, dry-run and explain campaigns."""


@campaign.command("list")
@click.option("--status", help="Only campaigns in this state.")
@pass_invocation
def campaign_list(inv: Invocation, status: str | None) -> None:
    """List campaigns: id, status, type, channel, next run, code, name."""
    from campaign_engine.campaigns.service import list_campaigns

    with transaction(inv.migrated_runtime.sessions) as session:
        for row in list_campaigns(session, status):
            when = row.next_run_at.isoformat(timespec="minutes") if row.next_run_at else "-"
            click.echo(
                f"{row.id:>5}  {row.status:10}  {row.type:11}  {row.channel:6}  {when:25}"
                f"  {row.code}  {row.name}"
            )


@campaign.command("save")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "campaign_id", type=int, help="Replace this campaign's plan instead.")
@pass_invocation
def campaign_save(inv: Invocation, path: Path, campaign_id: int | None) -> None:
    """Save the campaign in the JSON file PATH as a draft (format: docs/campaigns.md)."""
    from campaign_engine.campaigns.service import save_campaign

    with transaction(inv.migrated_runtime.sessions) as session:
        saved = save_campaign(session, read_json(path), campaign_id=campaign_id)
        click.echo(f"saved campaign {saved.id} ({saved.code}), {saved.status}")


@campaign.command("show")
@click.argument("campaign_id", type=int)
@pass_invocation
def campaign_show(inv: Invocation, campaign_id: int) -> None:
    """Print a campaign's plan, state and progress as JSON."""
    from campaign_engine.campaigns.service import campaign_spec, get_campaign
    from campaign_engine.dispatch.runner import describe_progress

    with transaction(inv.migrated_runtime.sessions) as session:
        found = get_campaign(session, campaign_id)
        _echo_json(
            {"id": found.id, "status": found.status, "next_run_at": found.next_run_at}
            | campaign_spec(session, found)
            | {"progress": describe_progress(session, campaign_id)}
        )


def _steer(inv: Invocation, action: str, campaign_id: int) -> None:
    from campaign_engine.campaigns import lifecycle
    from campaign_engine.campaigns.service import get_campaign

    with transaction(inv.migrated_runtime.sessions) as session:
        match action:
            case "schedule":
                lifecycle.schedule_campaign(session, campaign_id, _now())
            case "unschedule":
                lifecycle.unschedule_campaign(session, campaign_id)
            case "launch":
                lifecycle.send_now(session, campaign_id, _now())
            case "pause":
                lifecycle.pause_campaign(session, campaign_id)
            case "resume":
                lifecycle.resume_campaign(session, campaign_id)
            case "cancel":
                lifecycle.cancel_campaign(session, campaign_id, _now())
        click.echo(f"campaign {campaign_id} is {get_campaign(session, campaign_id).status}")


def _steering_command(action: str, help_text: str) -> click.Command:
    @click.argument("campaign_id", type=int)
    @pass_invocation
    def command(inv: Invocation, campaign_id: int) -> None:
        _steer(inv, action, campaign_id)

    return click.command(action, help=help_text)(command)


for _action, _help in ACTIONS.items():
    campaign.add_command(_steering_command(_action, _help))


@campaign.command("dry-run")
@click.argument("campaign_id", type=int)
@pass_invocation
def campaign_dry_run(inv: Invocation, campaign_id: int) -> None:
    """Say who would get what and how many would be skipped, by reason; sends nothing."""
    from campaign_engine.campaigns.trial import dry_run
    from campaign_engine.dispatch.policy import REASONS
    from campaign_engine.dispatch.wiring import unit_costs

    runtime = inv.migrated_runtime
    with transaction(runtime.sessions) as session:
        report = dry_run(
            session,
            campaign_id,
            _now(),
            runtime.settings.dispatch.rules,
            unit_costs(runtime.settings),
        )
    click.echo(f"audience {report['audience']:,}, held out {report['holdout']:,}")
    for channel, count in report["messages"].items():
        click.echo(f"  {count:>10,} {channel} messages")
    for reason, count in report["deferred"].items():
        click.echo(f"  {count:>10,} deferred ({reason})")
    for reason, count in sorted(report["skipped"].items(), key=lambda kv: -kv[1]):
        click.echo(f"  {count:>10,} skipped: {REASONS.get(reason, reason)}")
    click.echo(f"estimated cost {report['estimated_cost']:.2f}")


@campaign.command("test-send")
@click.argument("campaign_id", type=int)
@click.option("--seed", "seeds", multiple=True, required=True, help="Email or E.164 phone.")
@click.option("--as-contact", type=int, help="Render as this contact (default: the first).")
@pass_invocation
def campaign_test_send(
    inv: Invocation, campaign_id: int, seeds: tuple[str, ...], as_contact: int | None
) -> None:
    """Send every variant's messages to seed addresses now, marked [TEST]."""
    from campaign_engine.campaigns.trial import create_test_send
    from campaign_engine.dispatch.ledger import run_counts
    from campaign_engine.dispatch.wiring import build_runner

    runtime = inv.migrated_runtime
    with transaction(runtime.sessions) as session:
        run_id = create_test_send(session, campaign_id, list(seeds), _now(), as_contact).id
    build_runner(runtime).advance(run_id)
    with transaction(runtime.sessions) as session:
        click.echo(f"test run {run_id}: {run_counts(session, run_id)}")


@campaign.command("why")
@click.argument("campaign_id", type=int)
@click.argument("contact_id", type=int)
@pass_invocation
def campaign_why(inv: Invocation, campaign_id: int, contact_id: int) -> None:
    """Say why a contact was or was not sent a campaign's messages."""
    from campaign_engine.campaigns.explain import explain_contact

    with transaction(inv.migrated_runtime.sessions) as session:
        found = explain_contact(session, campaign_id, contact_id)
    click.echo(f"group: {found['group'] or '-'}, variant: {found['variant'] or '-'}")
    for sentence in found["explanation"]:
        click.echo(f"  {sentence}")


@campaign.command("send-due")
@pass_invocation
def campaign_send_due(inv: Invocation) -> None:
    """Start due runs and send what is due now, as the scheduler does every few seconds."""
    from campaign_engine.campaigns.abtest import choose_winners
    from campaign_engine.dispatch.wiring import build_runner

    runtime = inv.migrated_runtime
    with transaction(runtime.sessions) as session:
        choose_winners(session, _now())
    click.echo(f"advanced {build_runner(runtime).tick()} run(s)")


@click.group()
def template() -> None:
    """Validate, list and install message templates."""


@template.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_invocation
def template_validate(inv: Invocation, path: Path) -> None:
    """Check the template in the JSON file PATH; list every problem with its part and line."""
    from campaign_engine.message_templates import TemplateBody, check_template, parse_body

    body: TemplateBody = parse_body(read_json(path))
    with transaction(inv.migrated_runtime.sessions) as session:
        problems = check_template(session, body)
    for problem in problems:
        click.echo(f"{problem.location}: {problem.message}")
    if problems:
        raise SystemExit(1)
    click.echo("no problems")


@template.command("list")
@pass_invocation
def template_list(inv: Invocation) -> None:
    """List templates: id, kind, channel, purpose, name."""
    from campaign_engine.message_templates import list_templates

    with transaction(inv.migrated_runtime.sessions) as session:
        for row in list_templates(session):
            click.echo(f"{row.id:>5}  {row.kind:8}  {row.channel:6}  {row.purpose:13}  {row.name}")


@template.command("install-starters")
@pass_invocation
def template_install_starters(inv: Invocation) -> None:
    """Store the starter templates and their layout that are not stored yet."""
    from campaign_engine.message_templates import install_starters

    with transaction(inv.migrated_runtime.sessions) as session:
        added = [t.name for t in install_starters(session)]
    click.echo(f"installed {len(added)}: {', '.join(added) or 'nothing new'}")
