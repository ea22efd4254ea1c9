"""An open-loop HTTP load generator: POST bodies at a fixed rate, latency from when each was due.

wrk drives as fast as the server answers (closed loop), so it measures throughput, not the
latency at a given rate. Here each request has a due time (start + i / rate) and is sent on
the next free keep-alive connection; its latency runs from the due time to the end of the
answer, so a stalled server is charged for every request it kept waiting (no coordinated
omission). One asyncio loop drives up to a few thousand requests a second.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

CONNECTIONS = 32


async def _connection(
    host: str,
    port: int,
    queue: asyncio.Queue[tuple[float, bytes] | None],
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (job := await queue.get()) is not None:
            due, request = job
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - due)
            if status >= 400:
                errors.append(status)
    finally:
        writer.close()


async def _run(
    host: str, port: int, requests: list[bytes], rate: int, seconds: int
) -> dict[str, Any]:
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors: list[int] = []
    workers = [
        asyncio.create_task(_connection(host, port, queue, latencies, errors))
        for _ in range(CONNECTIONS)
    ]
    total = rate * seconds
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, requests[i % len(requests)]))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)

    def at(share: float) -> float:
        return round(ordered[min(int(share * len(ordered)), len(ordered) - 1)] * 1000, 2)

    return {
        "answered": len(latencies),
        "achieved_per_s": round(len(latencies) / elapsed),
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "errors": len(errors),
    }


def fixed_rate(
    host: str, port: int, path: str, token: str, bodies: list[str], rate: int, seconds: int
) -> dict[str, Any]:
    """POST `bodies` (in turn) to `path` at `rate` per second for `seconds`; return latencies."""
    requests = [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body.encode())}\r\n\r\n"
        ).encode()
        + body.encode()
        for body in bodies
    ]
    return asyncio.run(_run(host, port, requests, rate, seconds))
