"""Uplift modelling: sklearn-style estimators, evaluation and contact policy (pure)."""
