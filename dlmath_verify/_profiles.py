"""The Hypothesis profiles of the checker, chosen with ``--hypothesis-profile`` (never per file).

  dev       the default: quick, randomised, for the edit-test loop;
  ci        derandomised, no deadline, no example database: what CI selects, the same examples
            on every run;
  thorough  10x ci's examples, randomised, for a run before a release;
  nightly   as thorough, with a persistent example database in ``.hypothesis/nightly/`` under
            the rootdir (git-ignored): every night draws fresh examples (Hypothesis seeds each
            run itself), and a failure found one night is replayed first on every later run
            until it is fixed. ``print_blob`` prints the ``@reproduce_failure`` line as well.

No health check is suppressed globally: a test that needs it says so, with the reason, in its own
``@settings(suppress_health_check=...)``.

``--hypothesis-seed`` fixes the seed of a run (``--hypothesis-seed=$(date +%Y%m%d)`` reproduces a
night by its date), but Hypothesis then neither reads nor writes the example database; the
nightly profile therefore relies on Hypothesis's own seeding, and the database replays.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

NIGHTLY_DATABASE = Path(".hypothesis") / "nightly"


def _register_nightly(root: Path) -> None:
    settings.register_profile("nightly", max_examples=400, deadline=None, print_blob=True,
                              database=DirectoryBasedExampleDatabase(root / NIGHTLY_DATABASE))


settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          database=None, print_blob=True)
settings.register_profile("thorough", max_examples=400, deadline=None)
_register_nightly(Path.cwd())


def registered_profiles() -> list[str]:
    """The names ``--hypothesis-profile`` accepts (Hypothesis has no public listing)."""
    return sorted(getattr(settings, "_profiles", {}))


def _check_profile(name: str, where: str) -> None:
    if name not in registered_profiles():
        raise pytest.UsageError(
            f"{where}: unknown Hypothesis profile {name!r}; registered profiles: "
            f"{', '.join(registered_profiles())}")


_ENV_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
if _ENV_PROFILE in registered_profiles():
    settings.load_profile(_ENV_PROFILE)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before Hypothesis's own plugin loads the profile: the nightly database under the
    rootdir, and an unknown profile name is a usage error listing the registered ones."""
    _register_nightly(config.rootpath)
    if settings.get_current_profile_name() == "nightly":  # chosen by HYPOTHESIS_PROFILE
        settings.load_profile("nightly")
    if _ENV_PROFILE not in registered_profiles():
        _check_profile(_ENV_PROFILE, "HYPOTHESIS_PROFILE")
    try:
        name = config.getoption("--hypothesis-profile")
    except ValueError:  # Hypothesis's pytest plugin is not loaded
        return
    if name:
        _check_profile(name, "--hypothesis-profile")
