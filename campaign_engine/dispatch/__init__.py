"""Dispatch: contact policy, the delivery ledger, the sender and its executors."""
