"""Benchmark `campaign-engine demo --no-serve`: seed 1M contacts (at --scale 1) on embedded SQLite.

Runs the real command in a subprocess on a fresh instance folder and reports its wall time, peak
memory and the rows written. The target is under 5 minutes for 1M contacts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000,000 contacts")
    args = parser.parse_args()
    contacts = max(1000, int(1_000_000 * args.scale))
    instance = Path(tempfile.mkdtemp(prefix="ce-demo-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CE_")} | {
        "CE_INSTANCE_PATH": str(instance)
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campaign_engine",
            "demo",
            "--contacts",
            str(contacts),
            "--no-serve",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    size_mb = (instance / "campaign_engine.sqlite3").stat().st_size / 2**20
    shutil.rmtree(instance)
    if status != 0:
        raise SystemExit(f"demo failed with status {status}:\n{output}")
    summary = {
        k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", output.split("seeded:")[1].splitlines()[0])
    }
    rows = sum(summary.values())
    result = {
        "benchmark": "demo",
        "scale": args.scale,
        "contacts": contacts,
        "seconds": round(seconds, 1),
        "rows": rows,
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "database_mb": round(size_mb),
        "target_seconds": TARGET_SECONDS,
        "summary": summary,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
