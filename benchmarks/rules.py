"""Benchmark rule mining: 1M demo baskets over 5,000 products, ours against mlxtend's FP-growth.

The baskets come from the demo generator over a catalogue widened to 5,000 products
(benchmarks/rules_data.py) and are saved once as a 0/1 CSR matrix. Each contender then runs in
its own subprocess on that same file, so time and peak memory are its own:

- ours: `AssociationRules(...).fit(matrix)`, everything from the CSR matrix to `rules_`;
- mlxtend 0.25: `fpgrowth` on `pd.DataFrame.sparse.from_spmatrix(matrix)` and
  `association_rules(..., num_itemsets=N, metric="confidence")`, then the lift threshold.
  Building the sparse DataFrame is timed apart and left out of mlxtend's time.

Peak memory is the child's peak resident set while mining (the kernel's high-water mark, reset
once the input is loaded), so it counts the interpreter, libraries and input matrix too.
The rule sets are compared as sets of (antecedents, consequents) and every metric within
1e-9 (relative). mlxtend computes confidence as (s(AC)·N)/(s(A)·N), which can land one ulp
below a threshold it exactly equals (42/210 against 0.2); so mlxtend is asked for rules down
to threshold - 1e-9 and each of its rules is kept by the exact count ratio, as ours are. How
many rules its own test would have decided otherwise is reported as `mlxtend_ulp_flips`.

Targets at scale 1: at most 60 s and 2 GB, at least 2x faster than mlxtend, identical rules.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

TARGET_SECONDS, TARGET_MB, TARGET_RATIO = 60.0, 2048, 2.0
SLACK = 1e-9
METRICS = ("support", "confidence", "lift", "leverage", "conviction")

Rule = tuple[tuple[int, ...], tuple[int, ...]]


def _status_mb(field: str) -> float:
    """Return a memory figure of this process from /proc/self/status (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> float:
    """Reset the peak resident set to the current one (Linux); return the current size in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def run_ours(matrix: sp.csr_matrix, args: argparse.Namespace) -> tuple[float, dict[Rule, Any]]:
    """Mine with our AssociationRules; return the seconds taken and the rules."""
    from campaign_engine.recommend.mining import AssociationRules

    started = time.perf_counter()
    model = AssociationRules(
        min_support=args.min_support,
        min_confidence=args.min_confidence,
        min_lift=args.min_lift,
        max_len=args.max_len,
    ).fit(matrix)
    seconds = time.perf_counter() - started
    frame = model.rules_
    rules = {
        (tuple(sorted(a)), tuple(sorted(c))): tuple(float(frame[m].iat[k]) for m in METRICS)
        for k, (a, c) in enumerate(zip(frame["antecedents"], frame["consequents"], strict=True))
    }
    return seconds, rules


def run_mlxtend(
    matrix: sp.csr_matrix, args: argparse.Namespace
) -> tuple[float, dict[Rule, Any], dict[str, Any]]:
    """Mine with mlxtend's fpgrowth and association_rules on a sparse DataFrame."""
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    started = time.perf_counter()
    frame = pd.DataFrame.sparse.from_spmatrix(matrix.astype(bool))
    frame_seconds = time.perf_counter() - started
    n = matrix.shape[0]
    started = time.perf_counter()
    itemsets = fpgrowth(frame, min_support=args.min_support_share, max_len=args.max_len)
    found = association_rules(
        itemsets,
        num_itemsets=n,
        metric="confidence",
        min_threshold=args.min_confidence - SLACK,
    )
    found = found[found["lift"] >= args.min_lift - SLACK]
    seconds = time.perf_counter() - started
    rules: dict[Rule, Any] = {}
    ulp_flips = 0
    columns = {m: found[m].to_numpy() for m in METRICS}
    a_counts = np.rint(found["antecedent support"].to_numpy() * n).astype(np.int64)
    c_counts = np.rint(found["consequent support"].to_numpy() * n).astype(np.int64)
    counts = np.rint(columns["support"] * n).astype(np.int64)
    for k, (a, c) in enumerate(zip(found["antecedents"], found["consequents"], strict=True)):
        both, n_a, n_c = int(counts[k]), int(a_counts[k]), int(c_counts[k])
        exact = both / n_a >= args.min_confidence and (both * n) / (n_a * n_c) >= args.min_lift
        own = columns["confidence"][k] >= args.min_confidence and columns["lift"][k] >= (
            args.min_lift
        )
        ulp_flips += exact != own
        if exact:
            key = (tuple(sorted(int(i) for i in a)), tuple(sorted(int(i) for i in c)))
            rules[key] = tuple(float(columns[m][k]) for m in METRICS)
    extra = {
        "frame_seconds": round(frame_seconds, 3),
        "itemsets": len(itemsets),
        "ulp_flips": int(ulp_flips),
    }
    return seconds, rules, extra


def child(args: argparse.Namespace) -> None:
    """Run one contender on the saved matrix; write its figures and rules to --output."""
    matrix = sp.csr_matrix(sp.load_npz(args.input))
    args.min_support_share = _share(args.min_support, matrix.shape[0])
    # Both children load pandas (and mlxtend its own code) before the baseline is taken.
    import pandas  # noqa: F401

    if args.contender == "ours":
        before = _reset_peak()
        seconds, rules = run_ours(matrix, args)
        extra: dict[str, Any] = {}
    else:
        import mlxtend.frequent_patterns  # noqa: F401

        before = _reset_peak()
        seconds, rules, extra = run_mlxtend(matrix, args)
    peak = _status_mb("VmHWM")
    with open(args.output, "wb") as out:
        result = {"seconds": seconds, "input_mb": before, "peak_mb": peak, "rules": rules}
        pickle.dump(result | extra, out)


def _share(min_support: float, n: int) -> float:
    # Our int supports are counts; mlxtend only takes shares: c baskets is the share c / N.
    return min_support / n if min_support >= 1 else min_support


def contend(name: str, matrix_path: Path, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one contender in a subprocess; return its figures and rules."""
    output = folder / f"{name}.pkl"
    command = [
        sys.executable,
        "-m",
        "benchmarks.rules",
        "--contender",
        name,
        "--input",
        str(matrix_path),
        "--output",
        str(output),
        *_threshold_args(args),
    ]
    subprocess.run(command, check=True)
    with open(output, "rb") as source:
        result: dict[str, Any] = pickle.load(source)
    return result


def _threshold_args(args: argparse.Namespace) -> list[str]:
    return [
        f"--min-support={args.min_support!r}",
        f"--min-confidence={args.min_confidence!r}",
        f"--min-lift={args.min_lift!r}",
        f"--max-len={args.max_len}",
    ]


def compare(ours: dict[Rule, Any], theirs: dict[Rule, Any]) -> dict[str, Any]:
    """Return how two rule sets differ: missing either side, and the worst metric gap."""
    only_ours = set(ours) - set(theirs)
    only_theirs = set(theirs) - set(ours)
    worst = 0.0
    for key in set(ours) & set(theirs):
        for a, b in zip(ours[key], theirs[key], strict=True):
            if math.isinf(a) or math.isinf(b):
                gap = 0.0 if a == b else math.inf
            else:
                gap = abs(a - b) / max(1.0, abs(b))
            worst = max(worst, gap)
    return {
        "only_ours": len(only_ours),
        "only_mlxtend": len(only_theirs),
        "max_relative_gap": worst,
        "identical": not only_ours and not only_theirs and worst <= 1e-9,
    }


def planted_found(rules: dict[Rule, Any], skus: list[str]) -> tuple[int, int]:
    """Return how many of the demo's planted 1→1 rules were mined, and how many there are."""
    from campaign_engine.demo.catalog import PLANTED_RULES

    column = {sku: i for i, sku in enumerate(skus)}
    wanted = {((column[r.antecedent],), (column[r.consequent],)) for r in PLANTED_RULES}
    return len(wanted & set(rules)), len(wanted)


def main() -> None:
    """Generate the baskets, run both contenders, compare; print one JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000,000 baskets")
    parser.add_argument("--min-support", type=_support, default=0.0001)
    parser.add_argument("--min-confidence", type=float, default=0.1)
    parser.add_argument("--min-lift", type=float, default=1.0)
    parser.add_argument("--max-len", type=int, default=3)
    parser.add_argument("--no-mlxtend", action="store_true", help="time ours only")
    parser.add_argument("--contender", choices=("ours", "mlxtend"), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        child(args)
        return
    from benchmarks.rules_data import basket_matrix

    n = max(1000, int(1_000_000 * args.scale))
    started = time.perf_counter()
    matrix, skus = basket_matrix(n)
    generate_seconds = time.perf_counter() - started
    print(
        f"generated {n:,} baskets, {matrix.nnz:,} items in {generate_seconds:.1f}s", file=sys.stderr
    )
    with tempfile.TemporaryDirectory(prefix="ce-rules-bench-") as tmp:
        folder = Path(tmp)
        matrix_path = folder / "baskets.npz"
        sp.save_npz(matrix_path, matrix)
        ours = contend("ours", matrix_path, folder, args)
        print(f"ours: {ours['seconds']:.2f}s, {ours['peak_mb']:.0f} MB", file=sys.stderr)
        theirs = None if args.no_mlxtend else contend("mlxtend", matrix_path, folder, args)
    found, planted = planted_found(ours["rules"], skus)
    lengths = np.bincount([len(a) + len(c) for a, c in ours["rules"]], minlength=3)
    result: dict[str, Any] = {
        "benchmark": "rules",
        "scale": args.scale,
        "baskets": n,
        "items": matrix.shape[1],
        "basket_items": int(matrix.nnz),
        "min_support": args.min_support,
        "min_confidence": args.min_confidence,
        "min_lift": args.min_lift,
        "max_len": args.max_len,
        "rules": len(ours["rules"]),
        "rules_by_length": {str(k): int(v) for k, v in enumerate(lengths) if v},
        "planted_demo_rules_found": f"{found}/{planted}",
        "generate_seconds": round(generate_seconds, 1),
        "seconds": round(ours["seconds"], 3),
        "peak_mb": round(ours["peak_mb"]),
        "input_mb": round(ours["input_mb"]),
    }
    if theirs is not None:
        result |= {
            "mlxtend_seconds": round(theirs["seconds"], 3),
            "mlxtend_frame_seconds": theirs["frame_seconds"],
            "mlxtend_peak_mb": round(theirs["peak_mb"]),
            "mlxtend_itemsets": theirs["itemsets"],
            "mlxtend_ulp_flips": theirs["ulp_flips"],
            "speedup": round(theirs["seconds"] / ours["seconds"], 1),
            **compare(ours["rules"], theirs["rules"]),
        }
    result["targets"] = {"seconds": TARGET_SECONDS, "peak_mb": TARGET_MB, "speedup": TARGET_RATIO}
    result["meets_targets"] = (
        ours["seconds"] <= TARGET_SECONDS
        and ours["peak_mb"] <= TARGET_MB
        and (theirs is None or (result["speedup"] >= TARGET_RATIO and result["identical"]))
    )
    print(json.dumps(result))


def _support(text: str) -> float | int:
    # "100" is a count of baskets, "0.0001" a share: the same rule as AssociationRules.
    return int(text) if text.isdigit() else float(text)


if __name__ == "__main__":
    main()
