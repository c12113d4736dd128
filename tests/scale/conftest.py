"""The integration fixtures (moto world from template.yaml, tenants, handlers), for tests that need a
process of their own."""

from tests.integration.campaigns.conftest import *  # noqa: F403
from tests.integration.conftest import *  # noqa: F403
from tests.integration.management.conftest import *  # noqa: F403
