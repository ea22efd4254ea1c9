"""Settings: one frozen dataclass, read once from CE_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TypeVar

from campaign_engine.channels.settings import (
    EMAIL_TRANSPORTS,
    SMS_TRANSPORTS,
    SOCIAL_TRANSPORTS,
    ChannelSettings,
)
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.recommend.settings import BASKET_UNITS, RecommendSettings
from campaign_engine.tracking.settings import WRITE_MODES, TrackingSettings

T = TypeVar("T", bound=str)


class ConfigError(ValueError):
    """A CE_* variable holds a value the engine cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the engine is configured with; built by `load_settings`."""

    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str = ""
    secret_key: str = ""
    broker_url: str = ""
    result_backend: str = ""
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int = 2
    web_threads: int = 4
    api_max_batch: int = 1000
    session_cookie_secure: bool = False
    testing: bool = False
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    recommend: RecommendSettings = field(default_factory=RecommendSettings)

    @property
    def effective_database_url(self) -> str:
        """Return the configured URL, or the embedded SQLite file under the instance folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_path / 'campaign_engine.sqlite3'}"


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0 or value != value:
        raise ConfigError(f"{name} must be zero or more, got {raw!r}")
    return value


def _choice(environ: Mapping[str, str], name: str, choices: tuple[T, ...], default: T) -> T:
    raw = (environ.get(name) or default).lower()
    for choice in choices:
        if raw == choice:
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")


def _channel_settings(env: Mapping[str, str]) -> ChannelSettings:
    """Read the CE_* variables of the email, SMS and social providers."""
    channels = ChannelSettings(
        email_transport=_choice(env, "CE_EMAIL_TRANSPORT", EMAIL_TRANSPORTS, "memory"),
        email_from=env.get("CE_EMAIL_FROM") or ChannelSettings.email_from,
        email_from_name=env.get("CE_EMAIL_FROM_NAME", ""),
        sendgrid_api_key=env.get("CE_SENDGRID_API_KEY", ""),
        sendgrid_host=env.get("CE_SENDGRID_HOST") or ChannelSettings.sendgrid_host,
        sendgrid_batch=_int(env, "CE_SENDGRID_BATCH", ChannelSettings.sendgrid_batch),
        smtp_host=env.get("CE_SMTP_HOST") or ChannelSettings.smtp_host,
        smtp_port=_int(env, "CE_SMTP_PORT", ChannelSettings.smtp_port),
        smtp_username=env.get("CE_SMTP_USERNAME", ""),
        smtp_password=env.get("CE_SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env, "CE_SMTP_STARTTLS", False),
        sms_transport=_choice(env, "CE_SMS_TRANSPORT", SMS_TRANSPORTS, "memory"),
        twilio_account_sid=env.get("CE_TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=env.get("CE_TWILIO_AUTH_TOKEN", ""),
        twilio_from=env.get("CE_TWILIO_FROM", ""),
        twilio_base_url=env.get("CE_TWILIO_BASE_URL", ""),
        twilio_status_callback=env.get("CE_TWILIO_STATUS_CALLBACK", ""),
        twilio_concurrency=_int(env, "CE_TWILIO_CONCURRENCY", ChannelSettings.twilio_concurrency),
        social_transport=_choice(env, "CE_SOCIAL_TRANSPORT", SOCIAL_TRANSPORTS, "memory"),
        social_webhook_url=env.get("CE_SOCIAL_WEBHOOK_URL", ""),
        social_webhook_secret=env.get("CE_SOCIAL_WEBHOOK_SECRET", ""),
        cost_email=_float(env, "CE_COST_EMAIL", 0.0),
        cost_sms_segment=_float(env, "CE_COST_SMS_SEGMENT", 0.0),
        cost_social=_float(env, "CE_COST_SOCIAL", 0.0),
        provider_timeout=_float(env, "CE_PROVIDER_TIMEOUT", ChannelSettings.provider_timeout),
        rate_email=_float(env, "CE_RATE_EMAIL", 0.0),
        rate_sms=_float(env, "CE_RATE_SMS", 0.0),
        rate_social=_float(env, "CE_RATE_SOCIAL", 0.0),
    )
    _require_provider_settings(channels)
    return channels


def _require_provider_settings(c: ChannelSettings) -> None:
    required = {
        "sendgrid": [("CE_SENDGRID_API_KEY", c.sendgrid_api_key)],
        "twilio": [
            ("CE_TWILIO_ACCOUNT_SID", c.twilio_account_sid),
            ("CE_TWILIO_AUTH_TOKEN", c.twilio_auth_token),
            ("CE_TWILIO_FROM", c.twilio_from),
        ],
        "webhook": [
            ("CE_SOCIAL_WEBHOOK_URL", c.social_webhook_url),
            ("CE_SOCIAL_WEBHOOK_SECRET", c.social_webhook_secret),
        ],
    }
    for variable, transport in (
        ("CE_EMAIL_TRANSPORT", c.email_transport),
        ("CE_SMS_TRANSPORT", c.sms_transport),
        ("CE_SOCIAL_TRANSPORT", c.social_transport),
    ):
        for name, value in required.get(transport, []):
            if not value:
                raise ConfigError(f"{name} is required when {variable}={transport}")
    if c.provider_timeout <= 0:
        raise ConfigError("CE_PROVIDER_TIMEOUT must be more than zero")
    if c.twilio_concurrency < 1:
        raise ConfigError("CE_TWILIO_CONCURRENCY must be at least 1")
    if not 1 <= c.sendgrid_batch <= 1000:
        raise ConfigError("CE_SENDGRID_BATCH must be from 1 to 1000")


def _clock(environ: Mapping[str, str], name: str, default: time) -> time:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a time of day like 21:00, got {raw!r}") from None


def _dispatch_settings(env: Mapping[str, str]) -> DispatchSettings:
    """Read the CE_* variables of the contact policy and the sender."""
    base = DispatchSettings()
    caps = {
        channel: _int(env, f"CE_CAP_{channel.upper()}", -1)
        for channel in ("email", "sms", "social")
    }
    dispatch = DispatchSettings(
        public_url=env.get("CE_PUBLIC_URL") or base.public_url,
        sender_name=env.get("CE_SENDER_NAME") or base.sender_name,
        sender_postal_address=env.get("CE_SENDER_POSTAL_ADDRESS") or base.sender_postal_address,
        unsubscribe_mailbox=env.get("CE_UNSUBSCRIBE_MAILBOX", ""),
        allow_unknown_consent=_bool(env, "CE_ALLOW_UNKNOWN_CONSENT", False),
        cap_total=_int(env, "CE_CAP_TOTAL", base.cap_total),
        cap_window_days=_int(env, "CE_CAP_WINDOW_DAYS", base.cap_window_days),
        channel_caps={channel: cap for channel, cap in caps.items() if cap >= 0},
        quiet_start=_clock(env, "CE_QUIET_START", base.quiet_start),
        quiet_end=_clock(env, "CE_QUIET_END", base.quiet_end),
        send_batch=_int(env, "CE_SEND_BATCH", base.send_batch),
        parallel_batches=_int(env, "CE_SEND_PARALLEL", base.parallel_batches),
        lease_seconds=_int(env, "CE_SEND_LEASE_SECONDS", base.lease_seconds),
        max_attempts=_int(env, "CE_SEND_MAX_ATTEMPTS", base.max_attempts),
        global_holdout_percent=_float(env, "CE_GLOBAL_HOLDOUT_PERCENT", 0.0),
        global_holdout_salt=env.get("CE_GLOBAL_HOLDOUT_SALT") or base.global_holdout_salt,
    )
    if (held := dispatch.global_holdout_percent) > 50:
        raise ConfigError(f"CE_GLOBAL_HOLDOUT_PERCENT must be from 0 to 50, got {held:g}")
    _at_least_one(
        ("CE_CAP_TOTAL", dispatch.cap_total),
        ("CE_CAP_WINDOW_DAYS", dispatch.cap_window_days),
        ("CE_SEND_BATCH", dispatch.send_batch),
        ("CE_SEND_PARALLEL", dispatch.parallel_batches),
        ("CE_SEND_LEASE_SECONDS", dispatch.lease_seconds),
        ("CE_SEND_MAX_ATTEMPTS", dispatch.max_attempts),
    )
    return dispatch


def _at_least_one(*settings: tuple[str, int]) -> None:
    """Raise ConfigError naming the first (variable, value) below 1."""
    for name, value in settings:
        if value < 1:
            raise ConfigError(f"{name} must be 1 or more, got {value}")


def _tracking_settings(env: Mapping[str, str]) -> TrackingSettings:
    """Read the CE_TRACKING_* variables and the SendGrid event-webhook key."""
    base = TrackingSettings()
    topics = tuple(t.strip() for t in env.get("CE_TOPICS", ",".join(base.topics)).split(","))
    tracking = TrackingSettings(
        link_days=_int(env, "CE_TRACKING_LINK_DAYS", base.link_days),
        machine_open_seconds=_float(env, "CE_TRACKING_MACHINE_OPEN_SECONDS", 2.0),
        machine_click_seconds=_float(env, "CE_TRACKING_MACHINE_CLICK_SECONDS", 5.0),
        count_machine_events=_bool(env, "CE_TRACKING_COUNT_MACHINE", False),
        sendgrid_webhook_key=env.get("CE_SENDGRID_WEBHOOK_KEY", ""),
        webhook_max_age_seconds=_int(env, "CE_WEBHOOK_MAX_AGE_SECONDS", 600),
        retention_days=_int(env, "CE_TRACKING_RETENTION_DAYS", base.retention_days),
        writes=_choice(env, "CE_TRACKING_WRITES", WRITE_MODES, base.writes),
        flush_ms=_int(env, "CE_TRACKING_FLUSH_MS", base.flush_ms),
        topics=tuple(t for t in topics if t),
    )
    for name, value in (
        ("CE_TRACKING_LINK_DAYS", tracking.link_days),
        ("CE_TRACKING_RETENTION_DAYS", tracking.retention_days),
        ("CE_TRACKING_FLUSH_MS", tracking.flush_ms),
        ("CE_WEBHOOK_MAX_AGE_SECONDS", tracking.webhook_max_age_seconds),
    ):
        if value < 1:
            raise ConfigError(f"{name} must be 1 or more, got {value}")
    return tracking


def _support(environ: Mapping[str, str], name: str, default: float | int) -> float | int:
    """Read a minimum support: an integer is a count of baskets, a decimal a fraction."""
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value: float | int = int(raw) if raw.isdigit() else float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a count (like 20) or a fraction (like 0.001)") from None
    if (isinstance(value, int) and value < 1) or (isinstance(value, float) and not 0 < value < 1):
        raise ConfigError(f"{name} must be a count of 1 or more or a fraction below 1, got {raw}")
    return value


def _recommend_settings(env: Mapping[str, str]) -> RecommendSettings:
    """Read the CE_RULES_* (mining) and CE_PERSONALISATION_* (storefront) variables."""
    base = RecommendSettings()
    recommend = RecommendSettings(
        per=_choice(env, "CE_RULES_PER", BASKET_UNITS, "order"),
        window_days=_int(env, "CE_RULES_WINDOW_DAYS", base.window_days),
        min_support=_support(env, "CE_RULES_MIN_SUPPORT", base.min_support),
        min_count=_int(env, "CE_RULES_MIN_COUNT", base.min_count),
        min_confidence=_float(env, "CE_RULES_MIN_CONFIDENCE", base.min_confidence),
        min_lift=_float(env, "CE_RULES_MIN_LIFT", base.min_lift),
        category_min_lift=_float(env, "CE_RULES_CATEGORY_MIN_LIFT", base.category_min_lift),
        max_len=_int(env, "CE_RULES_MAX_LEN", base.max_len),
        max_rules=_int(env, "CE_RULES_MAX_RULES", base.max_rules),
        keep=_int(env, "CE_RULES_KEEP", base.keep),
        refresh_hours=_int(env, "CE_RULES_REFRESH_HOURS", base.refresh_hours),
        holdout_percent=_float(env, "CE_PERSONALISATION_HOLDOUT_PERCENT", 0.0),
        holdout_salt=env.get("CE_PERSONALISATION_HOLDOUT_SALT") or base.holdout_salt,
        cache_seconds=_float(env, "CE_PERSONALISATION_CACHE_SECONDS", base.cache_seconds),
        key_cache_seconds=_float(env, "CE_API_KEY_CACHE_SECONDS", base.key_cache_seconds),
        campaign_days=_int(env, "CE_PERSONALISATION_CAMPAIGN_DAYS", base.campaign_days),
    )
    if recommend.holdout_percent > 50:
        raise ConfigError("CE_PERSONALISATION_HOLDOUT_PERCENT must be from 0 to 50")
    if recommend.min_confidence > 1:
        raise ConfigError("CE_RULES_MIN_CONFIDENCE must be from 0 to 1")
    if not 2 <= recommend.max_len <= 5:
        raise ConfigError("CE_RULES_MAX_LEN must be from 2 to 5")
    _at_least_one(
        ("CE_RULES_WINDOW_DAYS", recommend.window_days),
        ("CE_RULES_MIN_COUNT", recommend.min_count),
        ("CE_RULES_MAX_RULES", recommend.max_rules),
        ("CE_RULES_KEEP", recommend.keep),
        ("CE_PERSONALISATION_CAMPAIGN_DAYS", recommend.campaign_days),
    )
    if recommend.refresh_hours < 0:
        raise ConfigError("CE_RULES_REFRESH_HOURS must be 0 (off) or more")
    return recommend


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from CE_* variables; the only place that reads the environment."""
    env = os.environ if environ is None else environ
    instance = Path(env.get("CE_INSTANCE_PATH") or "instance").resolve()
    return Settings(
        instance_path=instance,
        database_url=env.get("CE_DATABASE_URL", ""),
        secret_key=env.get("CE_SECRET_KEY", ""),
        broker_url=env.get("CE_BROKER_URL", ""),
        result_backend=env.get("CE_RESULT_BACKEND", ""),
        log_level=env.get("CE_LOG_LEVEL", "INFO").upper(),
        host=env.get("CE_HOST", "127.0.0.1"),
        port=_int(env, "CE_PORT", 8000),
        web_workers=_int(env, "CE_WEB_WORKERS", 2),
        web_threads=_int(env, "CE_WEB_THREADS", 4),
        api_max_batch=_int(env, "CE_API_MAX_BATCH", 1000),
        session_cookie_secure=_bool(env, "CE_SESSION_COOKIE_SECURE", False),
        channels=_channel_settings(env),
        dispatch=_dispatch_settings(env),
        tracking=_tracking_settings(env),
        recommend=_recommend_settings(env),
    )
