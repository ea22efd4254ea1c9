"""A threaded loopback HTTP server that fake providers build on: routing, faults, start/stop."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from campaign_engine.fakes.faults import Fault, FaultDice, FaultPlan
from campaign_engine.fakes.recording import Record, Recorder


@dataclass
class Request:
    """One HTTP request as a fake sees it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Reply:
    """What a fake answers, plus the records to keep if the reply is really sent."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, payload: Any, records: list[Record] | None = None) -> Reply:
        """Return a JSON reply."""
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json"},
            records or [],
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeHttpServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled clients reuse connections
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a benchmark sends a thousand requests."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        self.server.fake.serve(request, self)

    def write_reply(self, reply: Reply, truncate: bool = False) -> None:
        """Send `reply`; with `truncate`, promise more body than is sent, then hang up."""
        body = reply.body
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) + (64 if truncate else 0)))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
        self.wfile.flush()


class FakeHttpServer:
    """Base of the fake providers: subclasses implement `handle(request) -> Reply`.

    Start it with `start()` (returns the base URL) or as a context manager; it listens on
    127.0.0.1, port 0 (any free port) by default.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.dice = FaultDice(faults or FaultPlan())
        self.recorder = Recorder(log_path)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.requests_served = 0
        self._count_lock = threading.Lock()

    @property
    def url(self) -> str:
        """Return the base URL, e.g. http://127.0.0.1:41234."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Listen and serve on a background thread; return the base URL."""
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving; hung (timeout-fault) replies are released at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

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

    def set_faults(self, plan: FaultPlan) -> None:
        """Use `plan` for the requests from now on."""
        self.dice = FaultDice(plan)

    def received(self) -> list[Record]:
        """Return every record kept so far."""
        return self.recorder.received()

    def handle(self, request: Request) -> Reply:
        """Answer one request; subclasses override."""
        raise NotImplementedError

    def fault_reply(self, status: int, message: str) -> Reply:
        """Return the body this provider sends for an injected 429 or 5xx."""
        return Reply.json(status, {"message": message})

    def malformed_status(self, request: Request) -> int:
        """Return the success status whose body gets truncated by a malformed-reply fault."""
        return 200

    def serve(self, request: Request, handler: _Handler) -> None:
        """Apply the fault plan, then handle, record and reply."""
        with self._count_lock:
            self.requests_served += 1
        fault = self.dice.roll() if request.method == "POST" else Fault.NONE
        match fault:
            case Fault.RATE_LIMIT:
                reply = self.fault_reply(429, "too many requests")
                reply.headers["Retry-After"] = str(self.dice.plan.retry_after)
                handler.write_reply(reply)
            case Fault.SERVER_ERROR:
                status = self.dice.pick_5xx()
                handler.write_reply(self.fault_reply(status, "internal error"))
            case Fault.TIMEOUT:
                self._stopping.wait(self.dice.plan.timeout_seconds)
                handler.close_connection = True
            case Fault.MALFORMED:
                body = b'{"garbage": "the reply was cut off here, and more would have followed"}'
                reply = Reply(self.malformed_status(request), body)
                handler.write_reply(reply, truncate=True)
            case Fault.LOST_REPLY:
                self._handle_and_record(request)
                handler.close_connection = True
            case Fault.NONE:
                handler.write_reply(self._handle_and_record(request))

    def _handle_and_record(self, request: Request) -> Reply:
        reply = self.handle(request)
        if reply.records:
            self.recorder.add(reply.records)
        return reply
