"""Benchmark rendering a personalised starter email: messages per second on one core.

Renders the `cross_sell` starter (base_email layout, product cards partial) for N x 10,000
distinct contacts: HTML, the text part derived from it, List-Unsubscribe headers, and the
tracking hooks (every web link rewritten, open pixel). Contexts are built untimed, as the
sender builds them from rows it has already read. The target is 5,000 messages a second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime

from templates import RenderHooks, build_context, compile_message, starter_library
from templates import starter_templates as starters
from templates.context import sample_context

STARTER = "cross_sell"
TARGET_PER_SECOND = 5000
ZONES = ("America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo", "Bad/Zone", None)


def make_contexts(count: int) -> list[dict[str, object]]:
    """Return `count` distinct recipients' contexts, sharing campaign, sender and offer."""
    sample = sample_context()
    now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    contexts = []
    for n in range(count):
        contact = {
            "first_name": f"Name{n}" if n % 7 else "",
            "last_name": f"Last{n}",
            "email": f"c{n}@example.com",
            "time_zone": ZONES[n % len(ZONES)],
            "attributes": {"loyalty_tier": "Gold" if n % 3 else "Silver"},
        }
        products = [
            {
                "name": f"Product {n % 50 + i}",
                "sku": f"SKU-{n % 50 + i}",
                "price": 10 + i * 7.5,
                "url": f"https://shop.example/p/{n % 50 + i}",
                "image_url": f"https://shop.example/img/{n % 50 + i}.jpg",
            }
            for i in range(n % 4)
        ]
        token = f"{n:08x}"
        contexts.append(
            build_context(
                contact,
                traits={"rfm_group": "champions", "recency_days": n % 365},
                campaign=sample["campaign"],  # type: ignore[arg-type]
                sender=sample["sender"],  # type: ignore[arg-type]
                links={
                    "unsubscribe_url": f"https://t.example/u/{token}",
                    "preferences_url": f"https://t.example/p/{token}",
                    "view_in_browser_url": f"https://t.example/v/{token}",
                },
                offer=sample["offer"] if n % 2 else None,  # type: ignore[arg-type]
                products=products,
                now=now,
            )
        )
    return contexts


def hooks_for(n: int) -> RenderHooks:
    """Return tracking hooks for one delivery: a click redirect and an open pixel."""
    return RenderHooks(
        rewrite_link=lambda url: f"https://t.example/c/{n}?u={url}",
        open_pixel_url=f"https://t.example/o/{n}.gif",
        unsubscribe_mailto="unsubscribe@northwind.example",
    )


def run(contexts: list[dict[str, object]]) -> tuple[float, int]:
    """Render every context once; return the seconds taken and the characters produced."""
    starter = starters()[STARTER]
    compiled = compile_message(starter.source, starter_library())
    size = 0
    started = time.perf_counter()
    for n, context in enumerate(contexts):
        message = compiled.render(context, hooks_for(n))
        size += len(message.html) + len(message.text)
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1, help="1 = 10,000 contacts")
    parser.add_argument("--runs", type=int, default=3, help="runs to time; the median counts")
    args = parser.parse_args()
    count = max(100, int(10_000 * args.scale))
    contexts = make_contexts(count)
    rates: list[float] = []
    size = 0
    for number in range(max(1, args.runs)):
        seconds, size = run(contexts)
        rates.append(count / seconds)
        print(f"run {number + 1}: {rates[-1]:,.0f} messages/s", file=sys.stderr)
    result = {
        "benchmark": "render",
        "starter": STARTER,
        "scale": args.scale,
        "contacts": count,
        "messages_per_second": round(statistics.median(rates)),
        "runs": [round(rate) for rate in rates],
        "average_chars": round(size / count),
        "target_per_second": TARGET_PER_SECOND,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
