"""Helper library for the weight-initialization course."""
