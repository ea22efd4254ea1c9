"""An SMTP sink on aiosmtpd: records every message (envelope, parsed headers, raw bytes)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Collection
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from campaign_engine.fakes.recording import Record, Recorder


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port nobody listens on now (aiosmtpd cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class _Handler:
    """aiosmtpd hooks: refuse or defer listed recipients, record accepted messages."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        self.sink.count_connection()
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.sink.reject:
            return "550 5.1.1 No such user"
        if address in self.sink.defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.sink.record(str(envelope.mail_from), list(envelope.rcpt_tos), raw)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on loopback that keeps what it receives; start/stop or `with`.

    `reject` recipients get 550 at RCPT, `defer` recipients 451. `idle_timeout` closes idle
    connections, as real servers do. `connections` counts SMTP sessions (EHLO/HELO greetings).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | None = None,
        reject: Collection[str] = (),
        defer: Collection[str] = (),
        idle_timeout: float = 300.0,
    ) -> None:
        self.host, self.port = host, port
        self.reject, self.defer = set(reject), set(defer)
        self.idle_timeout = idle_timeout
        self.recorder = Recorder(log_path)
        self.connections = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> tuple[str, int]:
        """Listen on a background thread; return (host, port)."""
        if self.port == 0:
            self.port = free_port(self.host)
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, timeout=self.idle_timeout
        )
        controller.start()
        self._controller = controller
        with self._lock:
            self.connections = 0  # the controller's own readiness probe does not count
        return self.host, self.port

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def received(self) -> list[Record]:
        """Return every recorded message: mail_from, rcpt_tos, headers, raw (text)."""
        return self.recorder.received()

    def count_connection(self) -> None:
        """Count one SMTP session."""
        with self._lock:
            self.connections += 1

    def record(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        """Parse and keep one delivered message."""
        parsed = message_from_bytes(raw, policy=default_policy)
        headers: dict[str, Any] = {k: str(v) for k, v in parsed.items()}
        self.recorder.add(
            [
                {
                    "mail_from": mail_from,
                    "rcpt_tos": rcpt_tos,
                    "headers": headers,
                    "raw": raw.decode("utf-8", "replace"),
                }
            ]
        )
