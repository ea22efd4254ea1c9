"""Custom-audience export: normalised, SHA-256-hashed emails and phones, to a file or a webhook."""

from __future__ import annotations

import csv
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests

from campaign_engine.channels.base import Outcome
from campaign_engine.channels.webhook_client import EVENT_HEADER, post_signed

SyncMode = Literal["add", "replace"]
CSV_HEADER = ("email_sha256", "phone_sha256")
CHUNK_SIZE = 10_000


@dataclass(frozen=True)
class AudienceMember:
    """One contact's identifiers before hashing; either may be missing."""

    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class AudienceSync:
    """How a sync went: members and chunks sent, and the outcome of the last request."""

    audience: str
    members: int
    chunks_sent: int
    chunks: int
    outcome: Outcome
    reason: str | None = None
    retry_after: float | None = None


def normalise_email(email: str) -> str:
    """Return the email trimmed and lower-cased, as ad platforms hash it."""
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    """Return the phone number's digits only (E.164 without the '+')."""
    return "".join(ch for ch in phone if ch.isdigit())


def sha256_hex(value: str) -> str:
    """Return the hex SHA-256 of `value`'s UTF-8 bytes."""
    return hashlib.sha256(value.encode()).hexdigest()


def hashed_member(member: AudienceMember) -> dict[str, str]:
    """Return the member's hashed identifiers; an empty value hashes to ""."""
    email = normalise_email(member.email or "")
    phone = normalise_phone(member.phone or "")
    return {
        "email_sha256": sha256_hex(email) if email else "",
        "phone_sha256": sha256_hex(phone) if phone else "",
    }


def _hashed(rows: Iterable[AudienceMember]) -> Iterator[dict[str, str]]:
    for row in rows:
        hashed = hashed_member(row)
        if hashed["email_sha256"] or hashed["phone_sha256"]:
            yield hashed


def export_audience(rows: Iterable[AudienceMember], path: Path) -> int:
    """Write the hashed members to a CSV file (header `email_sha256,phone_sha256`); return count."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\n")
        writer.writeheader()
        for hashed in _hashed(rows):
            writer.writerow(hashed)
            count += 1
    return count


def sync_audience(
    rows: Iterable[AudienceMember],
    audience_name: str,
    url: str,
    secret: str,
    mode: SyncMode = "add",
    chunk_size: int = CHUNK_SIZE,
    timeout: float = 10.0,
    session: requests.Session | None = None,
) -> AudienceSync:
    """POST the hashed members to the webhook in signed chunks; stop at the first failure.

    Every chunk carries `sync_id`, `chunk` (from 0) and `chunks`; with mode "replace" the
    receiver swaps the audience for the union of the chunks once the last one has arrived,
    with "add" it adds each chunk as it comes. Re-running a failed sync is safe for both.
    """
    members = list(_hashed(rows))
    chunks = max(1, -(-len(members) // chunk_size))
    sync_id = uuid.uuid4().hex
    http = session or requests.Session()
    try:
        for index in range(chunks):
            body = {
                "audience": audience_name,
                "mode": mode,
                "sync_id": sync_id,
                "chunk": index,
                "chunks": chunks,
                "members": members[index * chunk_size : (index + 1) * chunk_size],
            }
            headers = {EVENT_HEADER: "audience", "Idempotency-Key": f"{sync_id}:{index}"}
            reply = post_signed(http, url, secret, body, timeout, headers)
            if reply.outcome != "accepted":
                return AudienceSync(
                    audience_name,
                    len(members),
                    index,
                    chunks,
                    reply.outcome,
                    reply.reason,
                    reply.retry_after,
                )
    finally:
        if session is None:
            http.close()
    return AudienceSync(audience_name, len(members), chunks, chunks, "accepted")
