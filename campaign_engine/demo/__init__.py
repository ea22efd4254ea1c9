"""Seeded synthetic demo store: contacts, catalogue, orders, events, consents, a past campaign."""

from campaign_engine.demo.seed import DemoSummary, demo_is_seeded, seed_demo

__all__ = ["DemoSummary", "demo_is_seeded", "seed_demo"]
