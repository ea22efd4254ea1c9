"""Campaigns: the saved plan, its lifecycle and its runs."""
