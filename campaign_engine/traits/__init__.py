"""Computed traits per contact: RFM scores and groups, CLV, probability alive, churn risk."""
