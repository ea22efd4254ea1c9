"""Ingest endpoints: contacts, products, orders, events, consents in batches."""
