"""Fake provider servers (SendGrid, Twilio, social webhook, SMTP) for tests, the CLI, benchmarks."""
