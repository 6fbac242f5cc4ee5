"""The Hypothesis profiles of the checker, chosen with ``--hypothesis-profile`` (never per file).

  dev       the default: quick, randomised, for the edit-test loop;
  ci        derandomised, no deadline, no example-database writes: what CI selects;
  thorough  10x ci's examples, for nightly runs and before a release.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=_SUPPRESS)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          database=None, print_blob=True, suppress_health_check=_SUPPRESS)
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=_SUPPRESS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

