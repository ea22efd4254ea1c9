"""A fake social webhook receiver: checks signatures, records posts and audience syncs."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from campaign_engine.channels.webhook_client import EVENT_HEADER
from campaign_engine.channels.webhook_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.http_server import FakeHttpServer, Reply, Request


class FakeSocialWebhook(FakeHttpServer):
    """Receive signed posts (a JSON array) and audience chunks; 401 on a bad signature.

    Posts are recorded one record each (`kind: "post"`), audience chunks one record per chunk
    (`kind: "audience"`). `audiences` holds each audience's current member hashes, applying
    "add" at once and "replace" when the last chunk of a sync has arrived.
    """

    def __init__(
        self,
        secret: str = "fake-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        log_path: Path | None = None,
    ) -> None:
        super().__init__(host, port, faults, log_path)
        self.secret = secret
        self.audiences: dict[str, set[tuple[str, str]]] = {}
        self._pending: dict[str, set[tuple[str, str]]] = {}
        self._lock = threading.Lock()
        self.rejected = 0  # requests refused for a bad signature

    def handle(self, request: Request) -> Reply:
        """Verify the signature, then record posts or apply an audience chunk."""
        if request.method != "POST":
            return Reply.json(405, {"error": "POST only"})
        headers = request.headers
        if not verify(
            self.secret,
            headers.get(TIMESTAMP_HEADER.lower()),
            headers.get(SIGNATURE_HEADER.lower()),
            request.body,
        ):
            with self._lock:
                self.rejected += 1
            return Reply.json(401, {"error": "bad signature or stale timestamp"})
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply.json(400, {"error": "body is not JSON"})
        if headers.get(EVENT_HEADER.lower()) == "audience":
            return self._audience(body)
        if not isinstance(body, list):
            return Reply.json(400, {"error": "posts come as a JSON array"})
        ids = [f"post-{uuid.uuid4().hex[:12]}" for _ in body]
        records = [
            {"kind": "post", "id": i, "idempotency_key": headers.get("idempotency-key"), **post}
            for i, post in zip(ids, body, strict=True)
        ]
        return Reply.json(200, {"ids": ids}, records)

    def _audience(self, body: dict[str, object]) -> Reply:
        members = body.get("members")
        name, sync_id = str(body.get("audience")), str(body.get("sync_id"))
        if not isinstance(members, list):
            return Reply.json(400, {"error": "members must be a list"})
        hashes = {(str(m.get("email_sha256", "")), str(m.get("phone_sha256", ""))) for m in members}
        with self._lock:
            if body.get("mode") == "replace":
                pending = self._pending.setdefault(sync_id, set())
                pending |= hashes
                if body.get("chunk") == _int(body.get("chunks")) - 1:
                    self.audiences[name] = self._pending.pop(sync_id)
            else:
                self.audiences.setdefault(name, set()).update(hashes)
        record = {"kind": "audience", **{k: v for k, v in body.items() if k != "members"}}
        record["members"] = len(members)
        return Reply.json(200, {"received": len(members)}, [record])


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
