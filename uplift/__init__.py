"""Uplift modelling: sklearn-style estimators, evaluation and contact policy (pure).

causalml is imported lazily, inside fit and predict, because importing it costs seconds.
"""

from uplift.checks import MIN_ROWS_PER_ARM
from uplift.errors import UpliftError
from uplift.estimators import UpliftClassifier, UpliftRegressor
from uplift.learners import CANDIDATES, LEARNERS

__all__ = [
    "CANDIDATES",
    "LEARNERS",
    "MIN_ROWS_PER_ARM",
    "UpliftClassifier",
    "UpliftError",
    "UpliftRegressor",
]
