"""Tracking: pixel, click, unsubscribe, provider webhooks, conversions and attribution."""
