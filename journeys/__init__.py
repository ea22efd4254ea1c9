"""Journeys: pure journey definitions, validation and the step function (advance)."""
