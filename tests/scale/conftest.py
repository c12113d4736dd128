"""The integration fixtures (moto world from template.yaml, tenants, handlers), for tests that need a
process of their own; moto's DynamoDB runs under the local stack's shim (``local.moto_dynamo``),
as it does in ``make demo``, so 100,000 writes cost O(items) rather than O(attributes²) each."""

from collections.abc import Iterator

import pytest

from local.moto_dynamo import serialised_dynamodb
from tests.integration.campaigns.conftest import *  # noqa: F403
from tests.integration.conftest import *  # noqa: F403
from tests.integration.management.conftest import *  # noqa: F403


@pytest.fixture(scope="session", autouse=True)
def _dynamodb_shim() -> Iterator[None]:
    with serialised_dynamodb():
        yield
