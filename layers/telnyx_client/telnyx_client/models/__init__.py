"""Pydantic models of the Telnyx wire, keyed to the July 2026 spec (subset: ``tests/fixtures/telnyx/openapi.yml``).

Request models are strict (``extra="forbid"``): a misspelled field raises before anything is sent.
Response models tolerate unknown keys and nulls, because the live API is ahead of the spec.
Import the submodule you need (``telnyx_client.models.calls`` …); this file imports nothing, so
using one area does not pay for building the others.
"""
