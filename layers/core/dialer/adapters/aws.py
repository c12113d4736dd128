"""Lazy boto3 clients. boto3 is imported on first use, not at import time: it is the largest
import in every function, and handlers that reject a request early never need it."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` (endpoint and region from the environment)."""
    import boto3

    return boto3.client(service)
