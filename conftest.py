"""Root conftest of the suite: the checker's plugin, float64 as the reference precision, and
every claim of ``derivations/`` registered before collection.

The checking machinery (profiles, claims summary, tolerances, strategies) lives in the
installable package ``dlmath_verify``; when it is installed its ``pytest11`` entry point has
already loaded the plugin under the same name, and the line below is a no-op.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from derivations.registry import load_all
from tests.tiers import quick_tier_gaps, tier

# pytester: the checker's own tests run small foreign projects (tests/test_own_kernel.py).
pytest_plugins = ["dlmath_verify.plugin", "pytester"]

# Float64 is the reference precision for gradient truth: modules and tensors made without an
# explicit dtype are float64. Float32 is always asked for explicitly.
torch.set_default_dtype(torch.float64)

load_all()


def pytest_configure(config: pytest.Config) -> None:
    # This suite's policy, not the plugin's (a foreign project keeps pytest-benchmark's own
    # default): `pytest` alone runs each benchmark once as a correctness check;
    # `--benchmark-only` (or `--benchmark-enable`) measures.
    opt = config.option
    if hasattr(opt, "benchmark_disable") and not (
        getattr(opt, "benchmark_only", False) or getattr(opt, "benchmark_enable", False)
    ):
        opt.benchmark_disable = True
    # The docs write benchmark JSON into the git-ignored reports/ folder, which a fresh clone
    # does not have; pytest-benchmark opens the file only after the timings, and would then
    # fail with FileNotFoundError.
    json_path = getattr(opt, "benchmark_json", None)
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    """The tiers (``tests/tiers.py``): a nightly test is slow too (added before ``-m``
    deselects), and a whole-suite collection whose quick tier lacks a witness kind that CI
    has is refused. Then a timing run (``--benchmark-only``) collects only the benchmarks:
    the rest are deselected rather than skipped one by one, so the output is the benchmark
    tables."""
    # Imported here: the plugin's modules are imported (and their asserts rewritten) by
    # pytest_plugins above, after this module has run.
    from dlmath_verify._claims import _whole_suite_collected, refuse_collection, witness_kinds
    from dlmath_verify.registry import REGISTRY

    for item in items:
        if item.get_closest_marker("nightly") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
    if _whole_suite_collected(config) and not config.option.claim_ids \
            and not session.testsfailed:  # a file that failed to collect is the error to show
        gaps = quick_tier_gaps(
            ((item.nodeid, tier(item), witness_kinds(item)) for item in items),
            {cid: c.witnesses or () for cid, c in REGISTRY.items()})
        if gaps:
            refuse_collection(config, items, "the quick tier (-m 'not slow') lacks witnesses:"
                              "\n  " + "\n  ".join(gaps))
            return
    if not getattr(config.option, "benchmark_only", False):
        return
    keep = [item for item in items if "benchmark" in getattr(item, "fixturenames", ())]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep
