"""Uplift benchmark, scale part: fit time, peak memory and scoring time in a fresh process.

`measure(rows, ...)` writes a causalml synthetic data set (`uplift_data.causalml_synthetic`,
20 numeric float64 features) to a temporary .npz file and runs this module on it in a
subprocess, so nothing else the benchmark did distorts the memory figures. The subprocess
loads the arrays, builds X as a DataFrame, returns freed heap to the OS (`malloc_trim`) and
takes the resident set size (RSS) as its baseline; a thread then samples RSS from
/proc/self/statm every 2 ms while `UpliftClassifier.fit` runs. Reported: fit seconds, the peak
RSS above the baseline, that peak relative to X's memory (`DataFrame.memory_usage(deep=True)`),
and the seconds `predict` takes for every row.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.002


def rss_bytes() -> int:
    """Return this process's resident set size."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakSampler:
    """Sample RSS in a background thread; `peak` is the highest value seen."""

    def __init__(self) -> None:
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(SAMPLE_SECONDS)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def _release_heap() -> None:
    gc.collect()
    with contextlib.suppress(OSError):  # not glibc: the baseline may include some free heap
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _child(path: Path, learner: str, seed: int) -> dict[str, Any]:
    from uplift import UpliftClassifier
    from uplift.learners import quiet

    with quiet():
        import causalml.inference.meta  # noqa: F401  (import cost is not fit cost)
    with np.load(path) as data:
        X = pd.DataFrame(data["X"], columns=[str(c) for c in data["columns"]])
        y, treatment = data["y"], data["treatment"]
    input_bytes = int(X.memory_usage(deep=True).sum())
    model = UpliftClassifier(learner=learner, random_state=seed)
    _release_heap()
    baseline = rss_bytes()
    started = time.perf_counter()
    with PeakSampler() as sampler:
        model.fit(X, y, treatment=treatment)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    scores = model.predict(X)
    score_s = time.perf_counter() - started
    return {
        "rows": len(X),
        "features": X.shape[1],
        "learner": learner,
        "chosen": model.learner_,
        "cv_rows": getattr(model, "cv_rows_", None),
        "cv_scores": {k: round(v, 4) for k, v in (model.cv_scores_ or {}).items()},
        "fit_s": round(fit_s, 1),
        "input_mb": round(input_bytes / 2**20, 1),
        "baseline_rss_mb": round(baseline / 2**20, 1),
        "fit_peak_extra_mb": round((sampler.peak - baseline) / 2**20, 1),
        "fit_peak_vs_input": round((sampler.peak - baseline) / input_bytes, 2),
        "score_s": round(score_s, 2),
        "scored_rows": len(scores),
    }


def measure(rows: int, *, learner: str = "auto", seed: int = 0) -> dict[str, Any]:
    """Generate `rows` x 20 synthetic rows and measure fit and scoring in a subprocess."""
    from benchmarks.uplift_data import causalml_synthetic

    data = causalml_synthetic(rows, seed=seed)
    with tempfile.TemporaryDirectory(prefix="ce-uplift-bench-") as folder:
        path = Path(folder) / "data.npz"
        np.savez(
            path,
            X=data.X.to_numpy(dtype=np.float64),
            columns=np.asarray(data.X.columns, dtype=str),
            y=data.y,
            treatment=data.treatment,
        )
        del data
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.uplift_scale",
                str(path),
                "--learner",
                learner,
                "--seed",
                str(seed),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        raise SystemExit(f"scale measurement failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help=".npz file with X, columns, y, treatment")
    parser.add_argument("--learner", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(_child(args.path, args.learner, args.seed)))


if __name__ == "__main__":
    main()
