"""The claims summary: tests name the claims they witness with ``@pytest.mark.claim(...)``;
at the end of a run the terminal summary lists every claim exercised with its status, and
``--claims-json`` writes it as JSON.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from dlmath_verify.registry import REGISTRY

# "impl-independent": grading mode only (dlmath_verify._grading)
_STATUS_ORDER = ("failed", "refuted-as-expected", "verified", "impl-independent")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--claims-json", default=None,
                     help="write the claims summary of this run as JSON to this path")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "claim(*ids, kind=...): the registered claims this test is a witness for; kind is "
        "'symbolic', 'implementation', 'autograd' or 'experiment' (or a tuple of them)")
    config.addinivalue_line(
        "markers",
        "conventions: checks this project's own conventions (error wording, validation, "
        "private arguments), not mathematics; deselected when grading another implementation")
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
        from dlmath_verify.checks import pop_counterexamples

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
    from dlmath_verify import _grading  # grading mode (--impl): header, impl-independent

    results = config._claim_results
    if not results:
        return
    rows = []
    for cid in sorted(results):
        status = _claim_status(cid, results[cid])
        # grading mode (--impl): a claim no witness of which reached the graded code
        status = _grading.grading_status(config, cid, [n for _, n in results[cid]], status)
        if status is not None:
            rows.append((status, cid, len(results[cid])))
    tr = terminalreporter
    tr.section("claims")
    for line in _grading.grading_header(config):  # grading mode: what was graded
        tr.write_line(line)
    counts = {s: sum(1 for r in rows if r[0] == s) for s in _STATUS_ORDER}
    for status, cid, n in sorted(rows, key=lambda r: (_STATUS_ORDER.index(r[0]), r[1])):
        c = REGISTRY[cid]
        line = f"{status:<20} {cid:<44} {n:>3} test(s)  [{c.source}]"
        tr.write_line(line, red=status == "failed", green=status in ("verified",
                                                                      "refuted-as-expected"))
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
        doc = {cid: {"status": s, "tests": n, "source": REGISTRY[cid].source,
                     "counterexample": config._claim_counterexamples.get(cid)}
               for s, cid, n in rows}
        graded = _grading.grading_json(config)  # grading mode: what was graded
        if graded is not None:
            doc["_graded"] = graded
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
