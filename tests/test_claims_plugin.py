"""The claims plugin itself (``dlmath_verify._claims``, ``_profiles``), run on tiny projects with
pytest's ``pytester``: statuses cannot overstate, failures are blamed on the claims their
assertions name, ``--claim`` selects witnesses, ``--claims-json`` keeps the evidence, and bad
options are usage errors. These tests witness no claim of the suite (no claim marker).

The tiny projects register their own claims; the suite's registry is set aside meanwhile, as a
user's repository would have only its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dlmath_verify._claims import blame
from dlmath_verify.checks import ClaimAssertionError
from dlmath_verify.registry import REGISTRY, claim

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = """
from dlmath_verify.registry import REGISTRY, claim

for cid, kinds, verdict in [("demo.two_kinds", ("symbolic", "implementation"), "holds"),
                            ("demo.other", ("implementation",), "holds"),
                            ("demo.false_as_written", ("symbolic",), "refuted")]:
    if cid not in REGISTRY:
        claim(cid, source="demo", statement=cid, witnesses=kinds, verdict=verdict,
              corrected_by="demo.two_kinds" if verdict == "refuted" else None)
"""

WITNESSES = """
import pytest
from dlmath_verify.checks import assert_close

@pytest.mark.claim("demo.two_kinds", kind="symbolic")
def test_symbolic():
    assert 1 + 1 == 2

@pytest.mark.claim("demo.false_as_written", kind="symbolic")
def test_refutation():
    assert 1 + 1 != 3
"""

IMPLEMENTATION = """
import pytest
from dlmath_verify.checks import assert_close

@pytest.mark.claim("demo.two_kinds", "demo.other", kind="implementation")
def test_implementation():
    assert_close(1.0, 1.0, claim="demo.other")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A tiny project with three registered claims; the suite's registry is restored after."""
    saved = dict(REGISTRY)
    REGISTRY.clear()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_witnesses=WITNESSES, test_implementation=IMPLEMENTATION)
    yield pytester
    REGISTRY.clear()
    REGISTRY.update(saved)


def run(p: pytest.Pytester, *args: str) -> pytest.RunResult:
    return p.runpytest("-p", "dlmath_verify.plugin", "-p", "no:cacheprovider", *args)


def claims_json(p: pytest.Pytester, *args: str) -> dict:
    path = p.path / "claims.json"
    run(p, "--claims-json", str(path), *args)
    return json.loads(path.read_text())


def test_a_claim_needing_two_kinds_with_one_run_is_partial(project):
    result = run(project, "test_witnesses.py")
    result.stdout.fnmatch_lines([
        "partial*demo.two_kinds*",
        "*(1 of 2 witness kinds ran: symbolic; missing implementation)*",
        "refuted-as-expected*demo.false_as_written*",
    ])
    result.stdout.no_fnmatch_line("verified*demo.two_kinds*")


def test_a_partial_claim_names_the_passing_kinds_it_does_not_require(project):
    """A witness of a kind the claim does not require runs and passes: the claim stays partial,
    and the line says what did pass (not a bare "0 of 1 ... ran: none" next to "1 test(s)")."""
    project.makepyfile(test_extra="""
import pytest

@pytest.mark.claim("demo.other", kind="symbolic")
def test_symbolic_of_an_implementation_claim():
    assert True
""")
    result = run(project, "test_extra.py")
    result.stdout.fnmatch_lines([
        "partial*demo.other*1 test(s)*",
        "*(0 of 1 witness kinds ran: none; missing implementation; "
        "also passed, not required: symbolic)*",
    ])


def test_a_claim_with_every_kind_passing_is_verified(project):
    result = run(project)
    result.stdout.fnmatch_lines(["verified*demo.other*", "verified*demo.two_kinds*",
                                 "*2 verified, 1 refuted-as-expected; 0 not-run*"])


def test_a_failing_claim_named_assertion_blames_only_that_claim(project):
    project.makepyfile(test_implementation="""
        import pytest
        from dlmath_verify.checks import assert_close

        @pytest.mark.claim("demo.two_kinds", "demo.other", kind="implementation")
        def test_implementation():
            assert_close(1.0, 2.0, claim="demo.other", what="planted")
    """)
    data = claims_json(project)
    assert data["demo.other"]["status"] == "failed"
    assert data["demo.other"]["failures"][0]["outside_claim_assertions"] is False
    assert "claim demo.other (planted): values differ" in data["demo.other"]["failures"][0][
        "message"]
    # the other claim of the test is not blamed, and not verified either: its witness stopped
    assert data["demo.two_kinds"]["status"] == "partial"
    assert data["demo.two_kinds"]["passed_kinds"] == ["symbolic"]


def test_a_failure_outside_claim_named_assertions_blames_the_markers_and_says_so(project):
    project.makepyfile(test_implementation="""
        import pytest

        @pytest.mark.claim("demo.two_kinds", "demo.other", kind="implementation")
        def test_implementation():
            assert 1 == 2, "no claim named here"
    """)
    result = run(project)
    result.stdout.fnmatch_lines([
        "failed*demo.other*",
        "*failure outside any claim-named assertion: blamed on the test's claims*",
        "*no claim named here*",
        "failed*demo.two_kinds*",
    ])


@pytest.mark.slow
def test_hypothesis_reraises_the_claim_named_failure(project):
    project.makepyfile(test_implementation="""
        import pytest
        from hypothesis import given, settings, strategies as st
        from dlmath_verify.checks import assert_close

        @pytest.mark.claim("demo.two_kinds", "demo.other", kind="implementation")
        @settings(max_examples=20, database=None)
        @given(x=st.integers(0, 10))
        def test_implementation(x):
            assert_close(float(x), 0.0, claim="demo.two_kinds")
    """)
    data = claims_json(project)
    assert data["demo.two_kinds"]["status"] == "failed"
    assert data["demo.other"]["status"] == "partial"


def test_blame_opens_exception_groups():
    saved = dict(REGISTRY)
    try:
        REGISTRY.clear()
        for cid in ("t.a", "t.b", "t.c"):
            claim(cid, source="t", statement=cid, witnesses=("symbolic",))
        group = ExceptionGroup("two bugs", [ClaimAssertionError("a is wrong", claim="t.a"),
                                            ValueError("outside")])
        found = blame(group, ["t.b", "t.c"])
        assert found["claims"] == ["t.a", "t.b", "t.c"]
        assert found["outside"] == ["t.b", "t.c"]
        only_named = blame(ExceptionGroup("g", [ClaimAssertionError("m", claim="t.a")]), ["t.b"])
        assert only_named["claims"] == ["t.a"] and only_named["outside"] == []
        qualified = blame(ClaimAssertionError("m", claim="t.c on piece 2"), ["t.a"])
        assert qualified["claims"] == ["t.c"]
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)


@pytest.mark.slow
def test_claim_option_selects_the_witnesses_of_a_claim_by_id_or_prefix(project):
    result = run(project, "--claim", "demo.false_as_written")
    result.assert_outcomes(passed=1, deselected=2)
    run(project, "--claim", "demo.").assert_outcomes(passed=3)
    run(project, "--claim", "demo.other", "--claim", "demo.false").assert_outcomes(
        passed=2, deselected=1)


def test_claim_option_with_an_unknown_id_is_a_usage_error_listing_close_matches(project):
    result = run(project, "--claim", "demo.othr")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--claim demo.othr: no registered claim*"
                                 "Close matches: demo.other*"])
    result.stdout.no_fnmatch_line("*claims*=*")


@pytest.mark.slow
def test_mark_expression_selects_by_kind_including_tuples_of_kinds(project):
    project.makepyfile(test_tuple="""
        import pytest

        @pytest.mark.claim("demo.other", kind=("implementation", "autograd"))
        def test_both():
            pass
    """)
    run(project, "-m", "claim(kind='implementation')").assert_outcomes(passed=2, deselected=2)
    run(project, "-m", "claim(kind='symbolic')").assert_outcomes(passed=2, deselected=2)


def test_claims_json_keeps_status_kinds_tests_source_and_counterexample(project):
    data = claims_json(project, "test_witnesses.py")
    row = data["demo.two_kinds"]
    assert row["status"] == "partial"
    assert row["required_kinds"] == ["symbolic", "implementation"]
    assert row["passed_kinds"] == ["symbolic"]
    assert row["tests"] == 1 and row["source"] == "demo"
    assert data["demo.false_as_written"]["status"] == "refuted-as-expected"
    assert data["demo.other"]["status"] == "not-run"
    assert set(row) >= {"counterexample", "verdict", "detail"}


def test_a_marker_without_kind_is_a_usage_error(project):
    project.makepyfile(test_kindless="""
        import pytest

        @pytest.mark.claim("demo.other")
        def test_kindless():
            pass
    """)
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_kindless.py::test_kindless*declares no kind=*"])


def test_a_required_kind_that_no_test_provides_is_a_usage_error_naming_the_claim(project):
    project.makepyfile(test_implementation="")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*claim demo.other requires witness kind(s) implementation*",
                                 "*claim demo.two_kinds requires witness kind(s) "
                                 "implementation*"])


def test_only_non_witness_tests_report_no_claim_verified(project):
    project.makepyfile(test_rendering="""
        from dlmath_verify.registry import REGISTRY

        def test_statements_render():
            assert all(c.statement for c in REGISTRY.values())
    """)
    result = run(project, "test_rendering.py")
    result.stdout.no_fnmatch_line("verified*")
    result.stdout.no_fnmatch_line("*claims*=*")


@pytest.mark.slow
def test_a_timing_run_judges_no_claim(project, monkeypatch):
    # Under pytest-xdist (CI's -n 2) pytest-benchmark sees the worker's environment and turns
    # --benchmark-disable on, which it refuses next to --benchmark-only: the inner run is a
    # subprocess without the worker's variables.
    for var in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(var, raising=False)
    result = project.runpytest_subprocess("-p", "dlmath_verify.plugin", "-p", "no:cacheprovider",
                                          "--benchmark-only", "-rfEx")
    result.stdout.fnmatch_lines(["claims: not judged in a timing run"])
    result.stdout.no_fnmatch_line("SKIPPED*")
    result.stdout.no_fnmatch_line("verified*")


def test_an_unknown_hypothesis_profile_is_a_usage_error_listing_the_profiles(project):
    result = run(project, "--hypothesis-profile=nightlly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown Hypothesis profile 'nightlly'*registered profiles: "
                                 "ci, default, dev, nightly, quick, thorough*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


@pytest.mark.nightly
def test_statuses_are_the_same_under_xdist(project):
    project.makepyfile(test_implementation="""
        import pytest
        from dlmath_verify.checks import assert_close

        @pytest.mark.claim("demo.two_kinds", "demo.other", kind="implementation")
        def test_implementation():
            assert_close(1.0, 2.0, claim="demo.other")
    """)
    data = claims_json(project, "-n", "2")
    assert data["demo.other"]["status"] == "failed"
    assert data["demo.two_kinds"]["status"] == "partial"
    assert data["demo.false_as_written"]["status"] == "refuted-as-expected"
