"""The `campaign-engine` command: demo, serve, scheduler, worker, db, import, users, segments."""

from __future__ import annotations

import os
import secrets
import sys
from datetime import date
from pathlib import Path

import click

from campaign_engine.campaign_commands import campaign, template
from campaign_engine.db import transaction
from campaign_engine.errors import DomainError
from campaign_engine.fake_commands import fakes
from campaign_engine.ingest.records import Kind
from campaign_engine.invocation import Invocation, pass_invocation, stage_progress
from campaign_engine.journey_commands import journey
from campaign_engine.models import ROLES, SCOPES
from campaign_engine.rules_commands import rules
from campaign_engine.runtime import build_runtime
from campaign_engine.schema import current_revision, head_revision, upgrade
from campaign_engine.segment_commands import segment, traits
from campaign_engine.tracking_commands import tracking
from campaign_engine.uplift_commands import uplift

DEMO_ADMIN = "admin@demo.local"


class DomainErrors(click.Group):
    """Turn domain errors into a clear message and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=DomainErrors)
@click.version_option(package_name="campaign-engine")
def main() -> None:
    """Campaign Engine: segments, journeys and campaigns over email, SMS and social."""


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@pass_invocation
def db_upgrade(inv: Invocation) -> None:
    """Apply every pending migration."""
    rt = inv.runtime
    upgrade(rt.engine)
    click.echo(
        f"database at revision {current_revision(rt.engine)} ({rt.engine.url.render_as_string()})"
    )


@db.command("current")
@pass_invocation
def db_current(inv: Invocation) -> None:
    """Print the schema revision of the database and of the code."""
    rt = inv.runtime
    click.echo(f"database: {current_revision(rt.engine) or 'empty'}; code: {head_revision()}")


@main.command("import")
@click.argument("kind", type=click.Choice([k.value for k in Kind]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Default: from the file suffix."
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid records; write the rest to a rejects file.",
)
@click.option(
    "--rejects", type=click.Path(dir_okay=False, path_type=Path), help="Where rejected rows go."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_invocation
def import_(
    inv: Invocation,
    kind: str,
    path: Path,
    fmt: str | None,
    skip_invalid: bool,
    rejects: Path | None,
    quiet: bool,
) -> None:
    """Import contacts, products, orders, events or consents from CSV or JSON Lines.

    By default a file is imported whole or not at all; every bad line is reported.
    """
    from campaign_engine.ingest.files import import_file

    if rejects is not None and not skip_invalid:
        raise click.UsageError(
            "--rejects goes with --skip-invalid (without it, a bad file imports nothing)"
        )
    rt = inv.migrated_runtime
    if skip_invalid and rejects is None:
        rejects = path.with_name(path.stem + ".rejects" + path.suffix)
    with click.progressbar(
        length=path.stat().st_size, label=f"importing {kind}", file=sys.stderr, hidden=quiet
    ) as bar:

        def progress(position: int) -> None:
            bar.update(position - bar.pos)

        with transaction(rt.sessions) as session:
            report = import_file(
                session, Kind(kind), path, fmt, skip_invalid, rejects, progress, parser_process=True
            )
    result = report.result
    click.echo(
        f"{kind}: {report.records} read, {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {report.rejected_lines} rejected"
    )
    if report.rejected_lines:
        click.echo(f"rejected records and reasons: {rejects}")


@main.group()
def users() -> None:
    """Manage admin UI users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), default="marketer", show_default=True)
@click.option("--name")
@click.password_option(help="Prompted for when not given.")
@pass_invocation
def users_create(inv: Invocation, email: str, role: str, name: str | None, password: str) -> None:
    """Create a user who can log in to the admin UI."""
    from campaign_engine.accounts import create_user

    with transaction(inv.migrated_runtime.sessions) as session:
        user = create_user(session, email, password, role, name)
    click.echo(f"created {user.role} {user.email}")


@main.group()
def apikeys() -> None:
    """Manage API keys for the storefront and ingest clients."""


@apikeys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option("--scope", "scopes", type=click.Choice(SCOPES), multiple=True, required=True)
@pass_invocation
def apikeys_create(inv: Invocation, name: str, scopes: tuple[str, ...]) -> None:
    """Create an API key and print it (it is shown only once)."""
    from campaign_engine.accounts import create_api_key

    with transaction(inv.migrated_runtime.sessions) as session:
        key, token = create_api_key(session, name, list(scopes))
    click.echo(f"API key {key.name!r} with scopes {key.scopes}:\n{token}")


@apikeys.command("list")
@pass_invocation
def apikeys_list(inv: Invocation) -> None:
    """List API keys: prefix, name, scopes, last use, revoked or not."""
    from campaign_engine.accounts import list_api_keys

    with transaction(inv.migrated_runtime.sessions) as session:
        for key in list_api_keys(session):
            used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            state = "revoked" if key.revoked_at else "active"
            click.echo(f"{key.prefix}  {state:7}  {key.scopes:30}  last used {used}  {key.name}")


@apikeys.command("revoke")
@click.argument("prefix")
@pass_invocation
def apikeys_revoke(inv: Invocation, prefix: str) -> None:
    """Revoke the key whose prefix (the part after `ce_`) is PREFIX."""
    from campaign_engine.accounts import revoke_api_key

    with transaction(inv.migrated_runtime.sessions) as session:
        key = revoke_api_key(session, prefix)
    click.echo(f"revoked API key {key.prefix} ({key.name})")


@main.command()
@click.option(
    "--contacts", default=5000, show_default=True, help="Size of the demo store (1k to 1M)."
)
@click.option(
    "--seed", default=42, show_default=True, help="Random seed: the same seed gives the same store."
)
@click.option("--serve/--no-serve", default=True, help="Serve after seeding, or seed and exit.")
@click.option("--host", default=None, help="Default: CE_HOST.")
@click.option("--port", type=int, default=None, help="Default: CE_PORT.")
@pass_invocation
def demo(
    inv: Invocation, contacts: int, seed: int, serve: bool, host: str | None, port: int | None
) -> None:
    """Migrate, seed a demo store once, print an admin login, serve all in one process."""
    from campaign_engine.accounts import reset_or_create_user
    from campaign_engine.campaigns.examples import save_example_campaigns
    from campaign_engine.demo import demo_is_seeded, seed_demo
    from campaign_engine.segments.examples import save_examples
    from campaign_engine.tracking.attribution import attribute_all_orders
    from campaign_engine.traits.refresh import refresh_traits
    from campaign_engine.uplift_models.demo import train_demo_model

    rt = inv.runtime
    upgrade(rt.engine)
    if demo_is_seeded(rt.engine):
        click.echo("demo data already present: reusing it")
    else:
        with click.progressbar(length=1, label="seeding demo store", file=sys.stderr) as bar:
            progress = stage_progress(bar, "seeding")
            summary = seed_demo(rt.engine, contacts=contacts, seed=seed, progress=progress)
        click.echo(f"seeded: {summary}")
        with transaction(rt.sessions) as session:
            traits = refresh_traits(session, date.today())
            examples = save_examples(session)
            campaigns = save_example_campaigns(session)
        attribute_all_orders(rt.sessions)
        click.echo(
            f"traits: {traits}; {examples} example segments and {campaigns} draft campaigns saved"
        )
        trained = train_demo_model(rt, lambda message: click.echo(f"  uplift: {message}"))
        if trained is not None:
            with transaction(rt.sessions) as session:
                save_examples(session)  # the example segments that need the demo model
            qini = trained.metrics["normalised_qini"]
            click.echo(
                f"uplift model {trained.model!r} v{trained.version} ({trained.learner}) trained, "
                f"promoted and scored: normalised Qini {qini['model']:.3f} "
                f"(response propensity {qini['propensity']:.3f})"
            )
    password = secrets.token_urlsafe(12)
    with transaction(rt.sessions) as session:
        reset_or_create_user(session, DEMO_ADMIN, password, "admin", "Demo admin")
    host = host or rt.settings.host
    port = port or rt.settings.port
    click.echo(f"\nCampaign Engine demo: http://{host}:{port}/admin/")
    click.echo(f"  login: {DEMO_ADMIN}\n  password: {password}\n")
    if serve:
        from campaign_engine.servers import serve_all_in_one

        serve_all_in_one(rt, host, port)


@main.command()
@click.option("--workers", type=int, default=None, help="Default: CE_WEB_WORKERS.")
@pass_invocation
def serve(inv: Invocation, workers: int | None) -> None:
    """Serve the web UI and API with gunicorn."""
    from campaign_engine.servers import serve_production

    rt = inv.migrated_runtime
    settings = rt.settings
    serve_production(
        lambda: build_runtime(settings),
        settings.host,
        settings.port,
        workers or settings.web_workers,
        max(settings.web_threads, 1),
    )


@main.command()
@pass_invocation
def scheduler(inv: Invocation) -> None:
    """Run the scheduler process (due campaigns, journey ticks, refreshes)."""
    from campaign_engine.scheduler import build_scheduler

    build_scheduler(inv.migrated_runtime, blocking=True).start()


@main.command()
@click.option("--concurrency", type=int, default=2, show_default=True)
@click.option(
    "--hostname",
    default=None,
    help="Celery node name; default worker-<pid>@<host>, so several can run on one machine.",
)
@pass_invocation
def worker(inv: Invocation, concurrency: int, hostname: str | None) -> None:
    """Run a Celery worker for sending and scoring batches (needs CE_BROKER_URL)."""
    from campaign_engine.tasks import make_celery

    rt = inv.migrated_runtime
    if not rt.settings.broker_url:
        raise click.ClickException(
            "CE_BROKER_URL is not set: without a broker, batches run inside `serve` and `demo`"
        )
    make_celery(rt.settings).worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--hostname={hostname or f'worker-{os.getpid()}@%h'}",
        ]
    )


main.add_command(segment)
main.add_command(campaign)
main.add_command(journey)
main.add_command(template)
main.add_command(traits)
main.add_command(fakes)
main.add_command(tracking)
main.add_command(uplift)
main.add_command(rules)
