"""Helper library for the weight-initialization course."""

__version__ = "0.3.0"
