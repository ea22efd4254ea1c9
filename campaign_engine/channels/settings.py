"""Channel settings: which provider each channel uses, its credentials, prices and pace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EmailTransport = Literal["sendgrid", "smtp", "memory"]
SmsTransport = Literal["twilio", "memory"]
SocialTransport = Literal["webhook", "memory"]

EMAIL_TRANSPORTS: tuple[EmailTransport, ...] = ("sendgrid", "smtp", "memory")
SMS_TRANSPORTS: tuple[SmsTransport, ...] = ("twilio", "memory")
SOCIAL_TRANSPORTS: tuple[SocialTransport, ...] = ("webhook", "memory")


@dataclass(frozen=True)
class ChannelSettings:
    """Provider configuration for email, SMS and social; built by `config.load_settings`.

    Rates are messages per second (0 = unlimited) for the sender to pace each channel;
    costs are in the account currency (SMS: per segment).
    """

    email_transport: EmailTransport = "memory"
    email_from: str = "campaigns@example.com"
    email_from_name: str = ""
    sendgrid_api_key: str = ""
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_batch: int = 1000
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    sms_transport: SmsTransport = "memory"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_base_url: str = ""
    twilio_status_callback: str = ""
    twilio_concurrency: int = 4
    social_transport: SocialTransport = "memory"
    social_webhook_url: str = ""
    social_webhook_secret: str = ""
    cost_email: float = 0.0
    cost_sms_segment: float = 0.0
    cost_social: float = 0.0
    provider_timeout: float = 10.0
    rate_email: float = 0.0
    rate_sms: float = 0.0
    rate_social: float = 0.0
