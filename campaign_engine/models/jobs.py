"""Scheduled job runs: when each periodic job last started, so only one scheduler runs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base
from campaign_engine.models.types import UTCDateTime


class JobRun(Base):
    """The last run of one periodic job; claimed by a conditional UPDATE of `started_at`."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(500))
