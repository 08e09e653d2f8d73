"""Hypothesis profiles for the test suite (nothing else lives here).

* ``ci`` (the default): derandomized, so every run draws the same examples and CI is
  deterministic; no deadline (timings on shared 2-core runners are noisy); 25 examples per test
  unless a test asks for another number with ``@settings(max_examples=...)``.
* ``dev``: random draws and the example database, for hunting new counterexamples locally:
  ``HYPOTHESIS_PROFILE=dev python -m pytest tests``.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
