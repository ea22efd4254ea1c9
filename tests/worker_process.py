"""Run `campaign-engine worker` under a node name of its own: `python -m tests.worker_process NAME`.

Celery names a worker `celery@<host name>` and `campaign-engine worker` has no `--hostname`
option, so a second worker on the same machine collides with the first on its remote-control
queue (RESOURCE_LOCKED). Tests that run two workers on one host give each a host name here.
"""

from __future__ import annotations

import sys

from celery.utils import nodenames

from campaign_engine.cli import main

if __name__ == "__main__":
    host = sys.argv[1]
    nodenames.gethostname = lambda: host
    main(["worker", *sys.argv[2:]])
