"""Build the configured provider for each channel from settings."""

from __future__ import annotations

from typing import assert_never

from campaign_engine.channels.base import Channel
from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.channels.settings import ChannelSettings
from campaign_engine.config import Settings


def make_channels(settings: Settings | ChannelSettings) -> dict[str, Channel]:
    """Return the email, SMS and social channels the settings ask for; nothing connects yet."""
    c = settings.channels if isinstance(settings, Settings) else settings
    return {"email": _email(c), "sms": _sms(c), "social": _social(c)}


def _email(c: ChannelSettings) -> Channel:
    match c.email_transport:
        case "sendgrid":
            from campaign_engine.channels.sendgrid_email import SendGridEmail

            return SendGridEmail(
                c.sendgrid_api_key,
                c.email_from,
                c.email_from_name,
                host=c.sendgrid_host,
                timeout=c.provider_timeout,
                cost_per_message=c.cost_email,
                max_batch=c.sendgrid_batch,
            )
        case "smtp":
            from campaign_engine.channels.smtp_email import SmtpEmail

            return SmtpEmail(
                c.smtp_host,
                c.smtp_port,
                c.email_from,
                c.email_from_name,
                username=c.smtp_username,
                password=c.smtp_password,
                starttls=c.smtp_starttls,
                timeout=c.provider_timeout,
                cost_per_message=c.cost_email,
            )
        case "memory":
            return MemoryChannel("email", price=c.cost_email)
        case _:
            assert_never(c.email_transport)


def _sms(c: ChannelSettings) -> Channel:
    match c.sms_transport:
        case "twilio":
            from campaign_engine.channels.twilio_sms import TwilioSms

            return TwilioSms(
                c.twilio_account_sid,
                c.twilio_auth_token,
                c.twilio_from,
                base_url=c.twilio_base_url,
                status_callback=c.twilio_status_callback,
                timeout=c.provider_timeout,
                cost_per_segment=c.cost_sms_segment,
                concurrency=c.twilio_concurrency,
            )
        case "memory":
            return MemoryChannel("sms", price=c.cost_sms_segment)
        case _:
            assert_never(c.sms_transport)


def _social(c: ChannelSettings) -> Channel:
    match c.social_transport:
        case "webhook":
            from campaign_engine.channels.social import SocialWebhook

            return SocialWebhook(
                c.social_webhook_url,
                c.social_webhook_secret,
                timeout=c.provider_timeout,
                cost_per_message=c.cost_social,
            )
        case "memory":
            return MemoryChannel("social", price=c.cost_social)
        case _:
            assert_never(c.social_transport)
