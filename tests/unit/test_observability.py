"""Phone numbers never reach logs in full; ids, ARNs and timestamps stay readable."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from dialer.observability import MaskingFormatter, get_logger, mask_phone, scrub_phones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+15550000200", "+*******0200"),
        (
            '{"to": "+15550000200", "from": "+442071838750"}',
            '{"to": "+*******0200", "from": "+********8750"}',
        ),
        ("call 5550000200 now", "call ******0200 now"),
        ("call 15550000200 now", "call *******0200 now"),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:x",
            "arn:aws:lambda:us-east-1:123456789012:function:x",
        ),
        ("00000000-0000-4000-8000-0000000e0009", "00000000-0000-4000-8000-0000000e0009"),
        ("2026-11-24T15:02:04.900000Z", "2026-11-24T15:02:04.900000Z"),
        (
            "v3:TEST-fake-call-control-id-0000000000000000000001",
            "v3:TEST-fake-call-control-id-0000000000000000000001",
        ),
        ("epoch 1795542068545", "epoch 1795542068545"),
    ],
)
def test_scrub_phones(text, expected):
    assert scrub_phones(text) == expected


@pytest.mark.parametrize(
    ("value", "masked"),
    [("+15550000200", "+*******0200"), ("5550000200", "******0200"), ("", ""), (None, ""), ("12", "**")],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


def test_logger_masks_numbers_in_messages_and_keys():
    # GIVEN the shared logger's formatter, writing to a buffer we can read
    stream = io.StringIO()
    logger = Logger(
        service="test-masking",
        logger_formatter=get_logger().registered_formatter,
        logger_handler=logging.StreamHandler(stream),
    )
    # WHEN numbers appear in the message, a key and a nested value
    logger.info("dialing +15550000200", to="+15550000200", lead={"phone": "+15551234567"})
    # THEN none of them is written in full
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "dialing +*******0200"
    assert line["to"] == "+*******0200"
    assert line["lead"]["phone"] == "+*******4567"
    assert isinstance(get_logger().registered_formatter, MaskingFormatter)
