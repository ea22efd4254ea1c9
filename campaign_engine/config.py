"""Settings: one frozen dataclass, read once from CE_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


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
    api_max_batch: int = 1000
    session_cookie_secure: bool = False
    testing: bool = False

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
        api_max_batch=_int(env, "CE_API_MAX_BATCH", 1000),
        session_cookie_secure=_bool(env, "CE_SESSION_COOKIE_SECURE", False),
    )
