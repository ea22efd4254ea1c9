"""A sender process for the crash tests: tick the dispatch runner until a campaign completes.

Run as `python -m tests.dispatch_process CAMPAIGN_ID`; every setting comes from CE_* variables
(the database, the SendGrid fake, batch size and lease). Exits 0 once the campaign is
completed, 2 if it is not done within `--seconds`.
"""

from __future__ import annotations

import argparse
import sys
import time

from campaign_engine.config import load_settings
from campaign_engine.db import transaction
from campaign_engine.dispatch.wiring import build_runner
from campaign_engine.models import Campaign
from campaign_engine.runtime import build_runtime


def main(argv: list[str] | None = None) -> int:
    """Tick until the campaign is completed; return the exit status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("campaign_id", type=int)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    runtime = build_runtime(load_settings())
    runner = build_runner(runtime)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        runner.tick()
        with transaction(runtime.sessions) as session:
            campaign = session.get(Campaign, args.campaign_id)
            if campaign is not None and campaign.status == "completed":
                return 0
        time.sleep(0.1)
    return 2


if __name__ == "__main__":
    sys.exit(main())
