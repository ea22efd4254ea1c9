"""The OpenAPI document for /api/v1, generated from the pydantic models."""
