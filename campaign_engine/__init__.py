"""Campaign Engine: the application package (persistence, use cases, HTTP API, jobs, CLI)."""

__version__ = "0.1.0"
