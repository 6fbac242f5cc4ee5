"""The claims summary: what this run showed about each registered claim, and no more.

A test is a witness of the claims it names, of a declared kind::

    @pytest.mark.claim("batchnorm.input_gradient", kind="implementation")
    @pytest.mark.claim("softmax.vjp", "log_softmax.vjp", kind=("implementation", "autograd"))

and each registered claim declares the kinds it needs (``claim(..., witnesses=(...))``). At the
end of a run every claim gets one status:

  verified              every needed kind ran and passed in this run (verdict ``holds``);
  refuted-as-expected   the same, for a claim registered ``refuted`` (its witnesses show it
                        false), with the counterexample found and the corrected claim;
  not-reproduced,       the same, for claims registered with those verdicts;
  reading-dependent
  partial               some test ran but not every needed kind passed ("k of n witness kinds
                        ran: ...", and which are missing);
  failed                a failing assertion names the claim (``assert_close(claim=...)`` and the
                        other helpers raise ``ClaimAssertionError``); a failure that names no
                        claim blames every claim on the test's markers, and the summary says so;
  not-run               no witness ran (deselected or skipped): counted, not listed.

A witness that neither passed nor was blamed (skipped, xfailed, or stopped by another claim's
failing assertion) counts for nothing. ``--claim ID`` selects the witnesses of claims (repeatable,
an exact id or an id prefix); ``--claims-json PATH`` writes one object per registered claim.
Everything a worker knows travels in ``report.user_properties``, so the summary is the same under
pytest-xdist. The plugin holds no module state: it works in any repository whose conftest
registers claims into ``dlmath_verify.registry``.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from dlmath_verify import _grading
from dlmath_verify.registry import REGISTRY, WITNESS_KINDS

_PROP_WITNESS = "dlmath_claims"  # [[claim id, [kinds]], ...] from the test's markers
_PROP_BLAME = "dlmath_blame"  # {"claims": [...], "outside": [...], "messages": {...}}
_PROP_CEX = "counterexamples"

# "impl-independent": grading mode only (--impl, dlmath_verify._grading): a claim whose
# witnesses in this run are symbolic only or never reach the graded code.
_STATUS_ORDER = ("failed", "partial", "verified", "refuted-as-expected", "not-reproduced",
                 "reading-dependent", "impl-independent")
_VERDICT_STATUS = {"holds": "verified", "refuted": "refuted-as-expected",
                   "not-reproduced": "not-reproduced", "reading-dependent": "reading-dependent"}
_MESSAGE_LINES = 6


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dlmath-verify", "claims (dlmath_verify)")
    group.addoption("--claims-json", default=None, metavar="PATH",
                    help="write each registered claim's status in this run as JSON to PATH")
    group.addoption("--claim", action="append", default=[], dest="claim_ids", metavar="ID",
                    help="run only the witnesses of this claim (repeatable; an exact id, or an "
                         "id prefix such as 'batchnorm.')")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "claim(*ids, kind=...): the registered claims this test is a witness for; kind is one "
        f"of {', '.join(WITNESS_KINDS)} or a tuple of them (required). Select with "
        "--claim ID, or with -m \"claim(kind='symbolic')\"")
    config.addinivalue_line(
        "markers",
        "conventions: checks this project's own conventions (error wording, validation, "
        "private arguments), not mathematics; deselected when grading another implementation")
    config.pluginmanager.register(_ClaimsRun(config), "dlmath-claims-run")


# --------------------------------------------------------------------------- markers


def _kinds(value: Any) -> tuple[str, ...] | None:
    """The kinds of ``kind=`` as a tuple, or None when missing or not valid."""
    kinds = (value,) if isinstance(value, str) else value
    if not isinstance(kinds, tuple | list) or not kinds:
        return None
    if any(k not in WITNESS_KINDS for k in kinds):
        return None
    return tuple(kinds)


def _own_marks(item: pytest.Item) -> Iterator[pytest.Mark]:
    """The item's claim marks as the test wrote them (not the per-kind copies added for -m)."""
    for mark in item.iter_markers("claim"):
        if not mark.kwargs.get("_expanded", False):
            yield mark


def witness_kinds(item: pytest.Item) -> dict[str, tuple[str, ...]]:
    """Claim id -> the kinds this item witnesses it with (validated at collection)."""
    out: dict[str, list[str]] = defaultdict(list)
    for mark in _own_marks(item):
        for kind in _kinds(mark.kwargs.get("kind")) or ():
            for cid in mark.args:
                if kind not in out[cid]:
                    out[cid].append(kind)
    return {cid: tuple(k) for cid, k in out.items()}


def _marker_problems(item: pytest.Item) -> list[str]:
    problems = []
    for mark in _own_marks(item):
        if not mark.args:
            problems.append(f"{item.nodeid}: @pytest.mark.claim names no claim")
        for cid in mark.args:
            if cid not in REGISTRY:
                close = difflib.get_close_matches(str(cid), list(REGISTRY), n=3, cutoff=0.6)
                hint = f" (close: {', '.join(close)})" if close else ""
                problems.append(f"{item.nodeid} names claim {cid!r}, which is not in the "
                                f"registry{hint}")
        if "kind" not in mark.kwargs:
            problems.append(f"{item.nodeid}: @pytest.mark.claim{mark.args!r} declares no kind= "
                            f"(one of {', '.join(WITNESS_KINDS)}, or a tuple of them)")
        elif _kinds(mark.kwargs["kind"]) is None:
            problems.append(f"{item.nodeid}: kind={mark.kwargs['kind']!r} is not one of "
                            f"{', '.join(WITNESS_KINDS)} (or a non-empty tuple of them)")
    return problems


def _selected_claims(values: list[str]) -> set[str]:
    """The claim ids ``--claim`` values select: an exact id selects itself, any other value
    every id it prefixes. An unmatched value is a usage error listing close matches."""
    selected: set[str] = set()
    for value in values:
        if value in REGISTRY:
            selected.add(value)
            continue
        matched = {cid for cid in REGISTRY if cid.startswith(value)}
        if not matched:
            close = difflib.get_close_matches(value, sorted(REGISTRY), n=5, cutoff=0.5)
            topics = sorted({cid.split(".")[0] + "." for cid in REGISTRY})
            raise pytest.UsageError(
                f"--claim {value}: no registered claim has this id or starts with it. "
                + (f"Close matches: {', '.join(close)}. " if close else "")
                + f"Topics: {' '.join(topics)}")
        selected |= matched
    return selected


def refuse_collection(config: pytest.Config, items: list[pytest.Item], message: str) -> None:
    """End a collection with ``message``: a usage error, or in a pytest-xdist worker (which
    cannot end the run with one: the controller would report a crash) a failed collection
    report that stops the run with the message, and no items."""
    if not hasattr(config, "workerinput"):
        raise pytest.UsageError(message)
    config.hook.pytest_collectreport(report=pytest.CollectReport(
        nodeid="", outcome="failed", longrepr=f"ERROR: {message}", result=[]))
    items[:] = []


def _whole_suite_collected(config: pytest.Config) -> bool:
    """True when the run collects what a bare ``pytest`` collects (testpaths or the invocation
    directory), so that a witness kind missing from the items is missing from the suite."""
    if getattr(config.option, "impl", None):
        return False  # grading collects only the files that import the graded module
    return config.args_source != pytest.Config.ArgsSource.ARGS


# --------------------------------------------------------------------------- blame


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """The individual failures inside an exception (ExceptionGroups, e.g. Hypothesis reporting
    several distinct bugs, are opened)."""
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            yield from _leaves(sub)
    else:
        yield exc


def _first_lines(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:_MESSAGE_LINES]) + ("\n…" if len(lines) > _MESSAGE_LINES else "")


def _named_claim(exc: BaseException) -> str | None:
    """The registered claim a failing assertion names, if any. A helper called with a claim
    plus a qualifier ("relu_net.hat_function on piece 2") names the registered id it starts
    with."""
    from dlmath_verify.checks import ClaimAssertionError

    if not isinstance(exc, ClaimAssertionError) or not exc.claim:
        return None
    if exc.claim in REGISTRY:
        return exc.claim
    head = str(exc.claim).split()[0]
    return head if head in REGISTRY else None


def blame(exc: BaseException | None, markers: list[str]) -> dict[str, Any]:
    """Which claims a test failure is blamed on: the claims its failing assertions name; the
    test's marker claims (``outside``) for any failure that names none."""
    named: list[str] = []
    messages: dict[str, str] = {}
    outside = False
    outside_message = ""
    for leaf in _leaves(exc) if exc is not None else ():
        cid = _named_claim(leaf)
        if cid is None:
            outside = True
            outside_message = outside_message or f"{type(leaf).__name__}: {leaf}"
        else:
            if cid not in named:
                named.append(cid)
            messages.setdefault(cid, _first_lines(str(leaf)))
    if exc is None:
        outside = True
    claims = list(named)
    blamed_outside = []
    if outside:
        for cid in markers:
            if cid not in claims:
                claims.append(cid)
                blamed_outside.append(cid)
            messages.setdefault(cid, _first_lines(outside_message or "failed"))
    return {"claims": claims, "outside": blamed_outside, "messages": messages}


# --------------------------------------------------------------------------- the run


@dataclass
class _Record:
    """What this run showed about one claim."""

    passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # kind -> tests
    tests: set[str] = field(default_factory=set)
    ran: set[str] = field(default_factory=set)
    failures: list[tuple[str, str, bool]] = field(default_factory=list)  # nodeid, msg, outside
    inconclusive: set[str] = field(default_factory=set)


def claim_status(cid: str, rec: _Record, *, independent: tuple[str, ...] = ()) -> str:
    """The status word of one claim (see the module docstring); "not-run" if nothing ran.

    ``independent``: witness kinds that do not depend on the code under test and are not
    required in this run (grading mode: a sympy proof says nothing about a student's kernel;
    the claim is verified *for the implementation* when its other required kinds passed).
    """
    if rec.failures:
        return "failed"
    if not rec.ran:
        return "not-run"
    c = REGISTRY[cid]
    required = c.witnesses
    if required is None:
        return ("partial (the claim declares no witnesses=; ran: "
                f"{', '.join(sorted(rec.passed)) or 'none'})")
    if independent and any(k not in independent for k in required):
        required = tuple(k for k in required if k not in independent)
    done = [k for k in required if rec.passed.get(k)]
    if len(done) == len(required):
        return _VERDICT_STATUS.get(c.verdict, c.verdict)
    missing = [k for k in required if k not in done]
    # A test of a kind the claim does not require (a stability test marked `implementation` on
    # a claim that needs symbolic and autograd) still counts as run: say so, or "1 test(s)"
    # next to "0 of 2 witness kinds ran" reads as a contradiction.
    extra = sorted(k for k in rec.passed if rec.passed[k] and k not in c.witnesses)
    also = f"; also passed, not required: {', '.join(extra)}" if extra else ""
    return (f"partial ({len(done)} of {len(required)} witness kinds ran: "
            f"{', '.join(done) or 'none'}; missing {', '.join(missing)}{also})")


class _ClaimsRun:
    """Per-config hooks: collection checks, --claim selection, and the summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: dict[str, _Record] = defaultdict(_Record)
        self.counterexamples: dict[str, str] = {}

    # -- collection
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        try:
            problems = [p for item in items for p in _marker_problems(item)]
            if problems:
                raise pytest.UsageError("claim markers:\n  " + "\n  ".join(problems))
            if _whole_suite_collected(config) and not session.testsfailed:
                self._check_required_kinds(items)
            self._expand_for_mark_expressions(items)
            if config.option.claim_ids:
                self._select(config, items, _selected_claims(config.option.claim_ids))
        except pytest.UsageError as e:
            refuse_collection(config, items, str(e))

    def _check_required_kinds(self, items: list[pytest.Item]) -> None:
        provided: dict[str, set[str]] = defaultdict(set)
        for item in items:
            for cid, kinds in witness_kinds(item).items():
                provided[cid] |= set(kinds)
        missing = []
        for cid, c in sorted(REGISTRY.items()):
            lacking = [k for k in c.witnesses or () if k not in provided[cid]]
            if lacking:
                missing.append(f"claim {cid} requires witness kind(s) {', '.join(lacking)}, "
                               f"which no collected test provides")
        if missing:
            raise pytest.UsageError("claims without the witnesses they require:\n  "
                                    + "\n  ".join(missing))

    @staticmethod
    def _expand_for_mark_expressions(items: list[pytest.Item]) -> None:
        """Add one ``claim(kind=k)`` mark per kind of a tuple, so that
        ``-m "claim(kind='autograd')"`` also selects tests of several kinds."""
        for item in items:
            for mark in list(_own_marks(item)):
                kinds = _kinds(mark.kwargs.get("kind")) or ()
                if len(kinds) > 1:
                    for k in kinds:
                        item.add_marker(pytest.mark.claim(*mark.args, kind=k, _expanded=True))

    @staticmethod
    def _select(config: pytest.Config, items: list[pytest.Item], wanted: set[str]) -> None:
        keep, drop = [], []
        for item in items:
            (keep if wanted & set(witness_kinds(item)) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    # -- running
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        kinds = witness_kinds(item)
        if kinds:
            report.user_properties.append((_PROP_WITNESS, [[c, list(k)] for c, k in
                                                           kinds.items()]))
            if report.failed:
                exc = call.excinfo.value if call.excinfo is not None else None
                found = blame(exc, list(kinds))
                if exc is None:  # e.g. a strict xfail that passed
                    for cid in found["claims"]:
                        found["messages"][cid] = f"failed without an exception ({report.when})"
                report.user_properties.append((_PROP_BLAME, found))
        if call.when == "call":
            from dlmath_verify.checks import pop_counterexamples

            cex = pop_counterexamples()
            if cex:
                report.user_properties.append((_PROP_CEX, cex))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        self.counterexamples.update(props.get(_PROP_CEX, {}))
        witnessed = props.get(_PROP_WITNESS)
        if not witnessed:
            return
        wasxfail = hasattr(report, "wasxfail")
        for cid, kinds in witnessed:
            rec = self.records[cid]
            rec.tests.add(report.nodeid)
            if report.when == "call" and report.passed and not wasxfail:
                rec.ran.add(report.nodeid)
                for k in kinds:
                    rec.passed[k] += 1
        if report.failed:
            found = props.get(_PROP_BLAME, {"claims": [c for c, _ in witnessed], "outside": [],
                                            "messages": {}})
            blamed = set(found["claims"])
            for cid in found["claims"]:
                rec = self.records[cid]
                rec.ran.add(report.nodeid)
                rec.failures.append((report.nodeid, found["messages"].get(cid, ""),
                                     cid in found["outside"]))
            for cid, _ in witnessed:
                if cid not in blamed:
                    self.records[cid].inconclusive.add(report.nodeid)
                    self.records[cid].ran.add(report.nodeid)

    # -- summary
    def _independent_kinds(self) -> tuple[str, ...]:
        """Under --impl (grading) the symbolic witnesses do not depend on the graded code."""
        return ("symbolic",) if getattr(self.config.option, "impl", None) else ()

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for cid in sorted(REGISTRY):
            c = REGISTRY[cid]
            rec = self.records.get(cid, _Record())
            status = claim_status(cid, rec, independent=self._independent_kinds())
            if status not in ("failed", "not-run"):  # grading mode (--impl) only
                status = _grading.grading_status(self.config, cid, sorted(rec.tests), status)
            row: dict[str, Any] = {
                "id": cid,
                "status": status.split(" ")[0],
                "detail": status,
                "verdict": c.verdict,
                "required_kinds": list(c.witnesses) if c.witnesses is not None else None,
                "passed_kinds": [k for k in WITNESS_KINDS if rec.passed.get(k)],
                "tests": len(rec.tests),
                "source": c.source,
                "counterexample": self.counterexamples.get(cid),
                "corrected_by": c.corrected_by,
            }
            if rec.failures:
                row["failures"] = [{"test": n, "message": m, "outside_claim_assertions": o}
                                   for n, m, o in rec.failures]
            if rec.inconclusive:
                row["inconclusive_tests"] = sorted(rec.inconclusive)
            readings = getattr(c, "readings", None)
            if readings:
                row["readings"] = [{"reading": r, "verdict": v} for r, v in readings]
            evidence = getattr(c, "evidence", None)
            if evidence:
                row["evidence"] = {k: getattr(evidence, k, "") for k in ("ours", "seed", "figures")}
            out.append(row)
        return out

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int,
                                config: pytest.Config) -> None:
        if config is not self.config or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        tr = terminalreporter
        if getattr(config.option, "benchmark_only", False):
            tr.write_line("claims: not judged in a timing run")
            return
        rows = self.rows()
        judged = [r for r in rows if r["status"] != "not-run"]
        path = config.getoption("--claims-json")
        if path:
            doc = {r["id"]: {k: v for k, v in r.items() if k != "id"} for r in rows}
            graded = _grading.grading_json(config)  # grading mode: what was graded
            if graded is not None:
                doc["_graded"] = graded
            with open(path, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=2, ensure_ascii=False)
        if not judged:
            if rows:
                tr.write_line(f"claims: none witnessed in this run ({len(rows)} not-run)")
            return
        tr.section("claims")
        for line in _grading.grading_header(config):  # grading mode: what was graded
            tr.write_line(line)
        for r in sorted(judged, key=lambda r: (_STATUS_ORDER.index(r["status"]), r["id"])):
            self._write_row(tr, r)
        counts = {s: sum(1 for r in judged if r["status"] == s) for s in _STATUS_ORDER}
        tr.write_line(", ".join(f"{n} {s}" for s, n in counts.items() if n)
                      + f"; {len(rows) - len(judged)} not-run")

    @staticmethod
    def _write_row(tr: Any, r: dict[str, Any]) -> None:
        status, pad = r["status"], " " * 22
        bad = status == "failed"
        tr.write_line(f"{status:<21} {r['id']:<44} {r['tests']:>3} test(s)  [{r['source']}]",
                      red=bad, yellow=status == "partial", green=not bad and status != "partial")
        if status == "partial":
            tr.write_line(pad + r["detail"][len("partial "):])
        for fail in r.get("failures", [])[:3]:
            where = ("failure outside any claim-named assertion: blamed on the test's claims"
                     if fail["outside_claim_assertions"] else "failing assertion")
            first = fail["message"].splitlines()[0] if fail["message"] else ""
            tr.write_line(f"{pad}{where}: {fail['test']}")
            if first:
                tr.write_line(f"{pad}  {first[:200]}")
        if len(r.get("failures", [])) > 3:
            tr.write_line(f"{pad}… and {len(r['failures']) - 3} more failing test(s)")
        if r["counterexample"] and status != "failed":
            tr.write_line(f"{pad}counterexample: {r['counterexample']}")
        if r["corrected_by"] and status != "failed":
            tr.write_line(f"{pad}corrected claim: {r['corrected_by']}")
        for reading in r.get("readings", []):
            tr.write_line(f"{pad}{reading['verdict']:<15} under {reading['reading']}")
        if r.get("evidence"):
            e = r["evidence"]
            tr.write_line(f"{pad}our setting: {e['ours']}")
            tr.write_line(f"{pad}the seed's:  {e['seed']}")
            tr.write_line(f"{pad}measured:    {e['figures']}")
