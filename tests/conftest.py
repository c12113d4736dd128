"""Settings every scope shares.

Hypothesis: no per-example deadline and no "generation is slow" health check. Properties here
assert correctness, never speed (timing goals live in ``bench/``), and CI shares a 2-core machine,
so a wall-clock limit would only turn load into false failures.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
