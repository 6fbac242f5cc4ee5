"""Root conftest: Hypothesis profiles, float64 as the reference precision, the claims summary.

Profiles (chosen with ``--hypothesis-profile``, never per file):
  dev       the default: quick, randomised, for the edit-test loop;
  ci        derandomised, no deadline, no example-database writes: what .ci/run selects;
  thorough  10× ci's examples, for nightly runs and before a release.

Tests name the claims they witness with ``@pytest.mark.claim("topic.name", ...)``. At the
end of a run the terminal summary lists every claim exercised with its status:
``verified`` (all its tests passed), ``refuted-as-expected`` (a seed's claim the suite shows
false as written, with the counterexample), or ``failed``.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import pytest
import torch
from hypothesis import HealthCheck, settings

from derivations.registry import REGISTRY, load_all

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=_SUPPRESS)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          database=None, print_blob=True, suppress_health_check=_SUPPRESS)
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=_SUPPRESS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Float64 is the reference precision for gradient truth: modules and tensors made without an
# explicit dtype are float64. Float32 is always asked for explicitly.
torch.set_default_dtype(torch.float64)

load_all()

_STATUS_ORDER = ("failed", "refuted-as-expected", "verified")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--claims-json", default=None,
                     help="write the claims summary of this run as JSON to this path")


def pytest_configure(config: pytest.Config) -> None:
    config._claim_results = defaultdict(list)  # claim id -> [(outcome, nodeid)]
    config._claim_counterexamples = {}
    # `pytest` alone runs each benchmark once as a correctness check; `--benchmark-only`
    # (or `--benchmark-enable`) measures.
    opt = config.option
    if hasattr(opt, "benchmark_disable") and not (
        getattr(opt, "benchmark_only", False) or getattr(opt, "benchmark_enable", False)
    ):
        opt.benchmark_disable = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for mark in item.iter_markers("claim"):
            for cid in mark.args:
                if cid not in REGISTRY:
                    raise pytest.UsageError(
                        f"{item.nodeid} names claim {cid!r}, which is not in the registry"
                    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    ids = [cid for mark in item.iter_markers("claim") for cid in mark.args]
    if ids:
        report.user_properties.append(("claims", ids))
    if call.when == "call":
        from tests.checks import pop_counterexamples

        found = pop_counterexamples()
        if found:
            report.user_properties.append(("counterexamples", found))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG
    if config is None:
        return
    props = dict(report.user_properties)
    ids = props.get("claims", [])
    config._claim_counterexamples.update(props.get("counterexamples", {}))
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "skipped" if report.skipped else ("passed" if report.passed else "failed")
        for cid in ids:
            config._claim_results[cid].append((outcome, report.nodeid))


_CONFIG: pytest.Config | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _CONFIG
    _CONFIG = session.config


def _claim_status(cid: str, results: list[tuple[str, str]]) -> str | None:
    outcomes = {o for o, _ in results}
    if "failed" in outcomes:
        return "failed"
    if "passed" not in outcomes:
        return None  # only skipped
    return "refuted-as-expected" if REGISTRY[cid].verdict == "refuted" else "verified"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    results = config._claim_results
    if not results:
        return
    rows = []
    for cid in sorted(results):
        status = _claim_status(cid, results[cid])
        if status is not None:
            rows.append((status, cid, len(results[cid])))
    tr = terminalreporter
    tr.section("claims")
    counts = {s: sum(1 for r in rows if r[0] == s) for s in _STATUS_ORDER}
    for status, cid, n in sorted(rows, key=lambda r: (_STATUS_ORDER.index(r[0]), r[1])):
        c = REGISTRY[cid]
        line = f"{status:<20} {cid:<44} {n:>3} test(s)  [{c.source}]"
        tr.write_line(line, red=status == "failed", green=status != "failed")
        if status == "refuted-as-expected":
            cex = config._claim_counterexamples.get(cid)
            if cex:
                tr.write_line(f"{'':<21}counterexample: {cex}")
            tr.write_line(f"{'':<21}corrected claim: {c.corrected_by}")
    unexercised = len(REGISTRY) - len(rows)
    tr.write_line(
        ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER)
        + f"; {unexercised} registered claim(s) not exercised in this run"
    )
    path = config.getoption("--claims-json")
    if path:
        with open(path, "w") as f:
            json.dump({cid: {"status": s, "tests": n, "source": REGISTRY[cid].source,
                             "counterexample": config._claim_counterexamples.get(cid)}
                       for s, cid, n in rows}, f, indent=2)
