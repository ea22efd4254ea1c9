"""Uplift benchmark data: the demo store's past randomised campaign and causalml's generator.

Both come with each row's true effect, so contenders can be compared with the oracle.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import select

from campaign_engine.db import make_engine, make_session_factory
from campaign_engine.demo import seed_demo
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.ml_data import training_frame
from campaign_engine.models import Campaign
from campaign_engine.schema import upgrade

TODAY = date(2026, 11, 1)
# causalml's make_uplift_classification_logistic with its defaults for one treatment
# ("treatment2": 2 uplift features, 1 mix feature, +5 points of conversion over the control's
# 10%) against the control, and 17 instead of 10 classification features (5 informative, 12
# irrelevant), so that X has 20 columns.
TREATMENT = "treatment2"
CAUSALML_SETTINGS = {
    "treatment_name": ["control", TREATMENT],
    "n_classification_features": 17,
}


@dataclass(frozen=True)
class Experiment:
    """A randomised experiment: features, 0/1 outcome and treatment, and the true effect."""

    name: str
    X: pd.DataFrame
    y: npt.NDArray[np.int64]
    treatment: npt.NDArray[np.int64]
    effect: npt.NDArray[np.float64]
    notes: dict[str, object]


def causalml_synthetic(rows: int, *, seed: int) -> Experiment:
    """Return `rows` rows (half treated) of causalml's logistic uplift generator.

    The generator's per-row `treatment2_true_effect` (treated minus control conversion
    probability) is the true effect. It seeds numpy's global generator and draws feature
    patterns from Python's `random`, so both are seeded here.
    """
    from causalml.dataset import make_uplift_classification_logistic

    from uplift.learners import quiet

    random.seed(seed)
    with quiet():
        frame, features = make_uplift_classification_logistic(
            n_samples=rows // 2, random_seed=seed, **CAUSALML_SETTINGS
        )
    return Experiment(
        name="causalml_synthetic",
        X=frame[features].astype(np.float64),
        y=frame["conversion"].to_numpy(dtype=np.int64),
        treatment=(frame["treatment_group_key"] == TREATMENT).to_numpy(dtype=np.int64),
        effect=frame[f"{TREATMENT}_true_effect"].to_numpy(dtype=np.float64),
        notes={"generator": "causalml.dataset.make_uplift_classification_logistic"},
    )


def demo_campaign(contacts: int, *, seed: int = 42) -> Experiment:
    """Seed a demo store into a temporary SQLite database and return its past campaign.

    The same steps as `campaign-engine demo` (migrate, `seed_demo`), then ANALYZE, then
    `training_frame` of the campaign coded DEMO-EMAIL-OFFER, whose members carry their planted
    `true_effect`.
    """
    folder = Path(tempfile.mkdtemp(prefix="ce-uplift-bench-"))
    engine = make_engine(f"sqlite:///{folder / 'demo.sqlite3'}")
    try:
        upgrade(engine)
        started = time.perf_counter()
        seed_demo(engine, contacts=contacts, seed=seed, today=TODAY)
        seeded = time.perf_counter() - started
        print(f"demo: seeded {contacts:,} contacts in {seeded:.0f}s", file=sys.stderr)
        # Settle: give SQLite's planner statistics. Without them it scans the consent
        # subquery of `training_frame` once per member (about 20 s at 50,000 contacts, 400 s
        # at 200,000); with them the frame takes seconds.
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
        analysed = time.perf_counter() - started
        started = time.perf_counter()
        with make_session_factory(engine)() as session:
            campaign = session.scalars(select(Campaign.id).where(Campaign.code == CAMPAIGN_CODE))
            data = training_frame(session, [campaign.one()], outcome="conversion")
        framed = time.perf_counter() - started
        print(f"demo: training frame of {len(data.X):,} rows in {framed:.0f}s", file=sys.stderr)
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    if data.true_effect is None:
        raise SystemExit("the demo campaign's members carry no true effect")
    return Experiment(
        name="demo_campaign",
        X=data.X,
        y=data.y.to_numpy(dtype=np.int64),
        treatment=data.treatment.to_numpy(dtype=np.int64),
        effect=data.true_effect.to_numpy(dtype=np.float64),
        notes={
            "contacts": contacts,
            "campaign": CAMPAIGN_CODE,
            "seed_s": round(seeded, 1),
            "analyze_s": round(analysed, 1),
            "training_frame_s": round(framed, 1),
        },
    )
