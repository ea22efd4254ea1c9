"""The `campaign-engine fakes` command: run the fake providers until Ctrl-C."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from campaign_engine.fakes.faults import FaultPlan


@click.command("fakes")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--sendgrid-port", type=int, default=0, help="Default: any free port.")
@click.option("--twilio-port", type=int, default=0, help="Default: any free port.")
@click.option("--social-port", type=int, default=0, help="Default: any free port.")
@click.option("--smtp-port", type=int, default=0, help="Default: any free port.")
@click.option("--rate-429", type=float, default=0.0, show_default=True)
@click.option("--retry-after", type=int, default=1, show_default=True, help="Seconds, on 429s.")
@click.option("--rate-5xx", type=float, default=0.0, show_default=True)
@click.option("--rate-timeout", type=float, default=0.0, show_default=True)
@click.option("--timeout-seconds", type=float, default=30.0, show_default=True)
@click.option("--rate-malformed", type=float, default=0.0, show_default=True)
@click.option(
    "--rate-lost-reply",
    type=float,
    default=0.0,
    show_default=True,
    help="Accept and record, then drop the reply.",
)
@click.option("--seed", type=int, default=None, help="Seed for repeatable faults.")
@click.option(
    "--log",
    "log_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Append what each fake receives to DIR/<fake>.jsonl.",
)
def fakes(
    host: str,
    sendgrid_port: int,
    twilio_port: int,
    social_port: int,
    smtp_port: int,
    rate_429: float,
    retry_after: int,
    rate_5xx: float,
    rate_timeout: float,
    timeout_seconds: float,
    rate_malformed: float,
    rate_lost_reply: float,
    seed: int | None,
    log_dir: Path | None,
) -> None:
    """Run fake SendGrid, Twilio, social webhook and SMTP servers and print CE_* settings."""
    from campaign_engine.fakes.sendgrid_server import FakeSendGrid
    from campaign_engine.fakes.smtp_sink import SmtpSink
    from campaign_engine.fakes.social_server import FakeSocialWebhook
    from campaign_engine.fakes.twilio_server import FakeTwilio

    try:
        plan = FaultPlan(
            rate_429, retry_after, rate_5xx, rate_timeout, timeout_seconds, rate_malformed,
            rate_lost_reply, seed,
        )  # fmt: skip
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)

    def log(name: str) -> Path | None:
        return None if log_dir is None else log_dir / f"{name}.jsonl"

    sendgrid = FakeSendGrid(host=host, port=sendgrid_port, faults=plan, log_path=log("sendgrid"))
    twilio = FakeTwilio(host=host, port=twilio_port, faults=plan, log_path=log("twilio"))
    social = FakeSocialWebhook(host=host, port=social_port, faults=plan, log_path=log("social"))
    smtp = SmtpSink(host=host, port=smtp_port, log_path=log("smtp"))
    with sendgrid, twilio, social, smtp:
        settings = {
            "CE_EMAIL_TRANSPORT": "sendgrid",
            "CE_SENDGRID_HOST": sendgrid.url,
            "CE_SENDGRID_API_KEY": sendgrid.api_key,
            "CE_SENDGRID_WEBHOOK_KEY": sendgrid.public_key_b64,
            "CE_SMTP_HOST": smtp.host,
            "CE_SMTP_PORT": str(smtp.port),
            "CE_SMS_TRANSPORT": "twilio",
            "CE_TWILIO_BASE_URL": twilio.url,
            "CE_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "CE_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "CE_TWILIO_FROM": "+15005550006",
            "CE_SOCIAL_TRANSPORT": "webhook",
            "CE_SOCIAL_WEBHOOK_URL": social.url + "/webhook",
            "CE_SOCIAL_WEBHOOK_SECRET": social.secret,
        }
        click.echo("# fake providers running; point the engine at them with:")
        for name, value in settings.items():
            click.echo(f"export {name}={value}")
        click.echo("# (CE_EMAIL_TRANSPORT=smtp sends to the SMTP sink instead.) Ctrl-C stops.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopping fake providers")
