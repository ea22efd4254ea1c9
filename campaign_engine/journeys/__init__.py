"""Journeys in the application: saving, publishing, analytics, simulation and the runner."""
