"""The one error type the uplift library raises for bad input."""


class UpliftError(ValueError):
    """Say what is wrong with the data or the request, and what is missing."""
