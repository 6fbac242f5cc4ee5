"""Grading mode (``pytest --impl NAME=TARGET``, ``dlmath_verify/_grading.py``), run as an
instructor would: each test grades a fixture of ``tests/grading/`` in a fresh pytest process.

* a correct plain-numpy submission of the practical's modules (``student_modules.py``, the
  interface of ``004_a5042f8004da492f.txt`` §1.2) fails no claim;
* the same file with one classic bug planted in one backward pass (``bugs.py``) fails the
  claim about that backward, and the failing assertions blame at most three claims;
* a bad ``--impl`` is a usage error naming what is missing, before any test runs (checked
  in-process with ``pytester``: the error comes before anything is swapped);
* the adapters: the seed's Jacobian signature ``(x, L, param_dict)`` and a vugrad-style
  library (``vugrad_style.py`` behind ``vugrad_adapter.py``) grade with no failed claim.

Rendering and plumbing tests: no claim marker. Each grading run starts a pytest process (about
5 s of CPU to import torch, sympy and the registry) under the ``quick`` profile (10 derandomised
examples, no shrinking: a planted bug is found, not minimised). Every grading run is slow (CI
runs them); the planted-bug runs but one and the adapter runs are nightly.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dlmath_verify._grading import CONTRACTS, independent_of_impl
from tests.grading.bugs import BUGS, plant

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "grading"
STUDENT = FIXTURES / "student_modules.py"


def grade(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict, list]:
    """Run ``pytest *args`` in a fresh process from the repository root; return the process,
    the ``--claims-json`` document and, per failed test, the claims its failure blames: the
    claim named by the failing assertion (``assert_close``'s "claim <id>"), else the test's
    claim markers (junitxml property ``claims``)."""
    claims, junit = tmp_path / "claims.json", tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
         "--hypothesis-profile=quick",
         f"--claims-json={claims}", f"--junitxml={junit}"],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    doc = json.loads(claims.read_text()) if claims.exists() else {}
    blamed = []
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            failure = case.find("failure")
            if failure is None:
                continue
            text = (failure.get("message") or "") + (failure.text or "")
            named = re.search(r"claim ([a-z_]+\.[a-z0-9_]+)", text)
            if named:
                blamed.append({named.group(1)})
            else:
                props = {p.get("name"): p.get("value") for p in case.iter("property")}
                blamed.append(set(re.findall(r"'([a-z_]+\.[a-z0-9_]+)'",
                                             props.get("claims", ""))))
    return proc, doc, blamed


def statuses(doc: dict, status: str) -> set[str]:
    return {c for c, v in doc.items() if not c.startswith("_") and v["status"] == status}


@pytest.mark.slow
def test_a_correct_student_submission_fails_no_claim(tmp_path):
    proc, doc, _ = grade(tmp_path, f"--impl=modules={STUDENT}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not statuses(doc, "failed")
    assert {"modules.linear_backward", "modules.relu_jacobian", "softmax.vjp",
            "cross_entropy.softmax_chain"} <= statuses(doc, "verified"), doc
    (graded,) = doc["_graded"]["implementations"]
    assert graded["name"] == "modules" and graded["file"] == str(STUDENT)
    assert graded["sha256"] == hashlib.sha256(STUDENT.read_bytes()).hexdigest()
    assert f"graded: impl.modules = {STUDENT}" in proc.stdout
    assert "'conventions' test(s)" in proc.stdout


@pytest.mark.parametrize("bug", [
    pytest.param(b, id=b[0], marks=pytest.mark.slow if k == 0 else pytest.mark.nightly)
    for k, b in enumerate(BUGS)])
def test_a_planted_backward_bug_fails_its_claim_and_blames_at_most_three(tmp_path, bug):
    name, written, planted, claim = bug
    target = tmp_path / "modules.py"
    target.write_text(plant(STUDENT.read_text(), written, planted))
    proc, doc, blamed = grade(tmp_path, f"--impl=modules={target}")
    assert proc.returncode == 1, proc.stdout[-3000:]
    by_assertion = set().union(*blamed)
    assert claim in by_assertion, f"{name}: blamed {sorted(by_assertion)}, not {claim}"
    assert claim in statuses(doc, "failed")
    assert len(by_assertion) <= 3, f"{name}: blamed {sorted(by_assertion)}"


@pytest.mark.parametrize(("spec", "fragments"), [
    pytest.param("nonsense=impl/softmax.py", ["unknown NAME 'nonsense'", "modules"],
                 id="unknown name"),
    pytest.param("modules", ["expected NAME=TARGET"], id="no target"),
    pytest.param("modules=no/such/file.py", ["not found", "no/such/file.py"],
                 id="missing file"),
    pytest.param(f"modules={ROOT / 'impl' / 'softmax.py'}",
                 ["lacks LinearModule, ReLUModule, SoftMaxModule, CrossEntropyModule",
                  "impl.modules"], id="lacking names"),
    pytest.param("jacobian=no_such_module_anywhere", ["cannot be imported",
                                                      "no_such_module_anywhere"],
                 id="missing module"),
])
def test_a_bad_impl_is_a_usage_error_naming_what_is_missing_before_any_test(pytester, spec,
                                                                            fragments):
    """In-process (pytester): a usage error stops pytest in its configure step, before any
    module of the suite is swapped or any test collected, so nothing leaks into this process.
    The test file would pass if it ran."""
    pytester.makepyfile(test_would_pass="def test_runs():\n    assert True\n")
    result = pytester.runpytest_inprocess("-p", "dlmath_verify.plugin", "-p",
                                          "no:cacheprovider", f"--impl={spec}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    stderr = "\n".join(result.errlines)
    for fragment in fragments:
        assert fragment in stderr, f"{fragment!r} missing from {stderr!r}"
    assert "passed" not in result.stdout.str() and "failed" not in result.stdout.str()


@pytest.mark.slow
def test_symbolic_only_claims_are_reported_as_not_depending_on_the_implementation(tmp_path):
    """With every test of the file kept (--impl-select=files), a claim witnessed in this run
    only by its sympy proof is ``impl-independent``, never ``verified`` for the student."""
    proc, doc, _ = grade(tmp_path, f"--impl=modules={STUDENT}", "--impl-select=files",
                         "tests/test_modules.py", "-k",
                         "linear_bias_jacobian_is_the_identity or relu_module_matches")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert doc["modules.linear_bias_jacobian"]["status"] == "impl-independent"
    assert doc["modules.relu_jacobian"]["status"] == "verified"
    assert "does not depend on the implementation" in proc.stdout


def test_symbolic_witness_kinds_are_independent_of_the_implementation():
    assert independent_of_impl(["symbolic"])
    assert independent_of_impl(("symbolic", "symbolic"))
    assert not independent_of_impl(["symbolic", "implementation"])
    assert not independent_of_impl(["autograd"])
    assert not independent_of_impl([])  # no kinds known: never assumed independent


def test_every_contract_documents_each_name_and_docs_list_them():
    docs = (ROOT / "docs" / "grading.md").read_text()
    for name, contract in CONTRACTS.items():
        assert f"`{name}`" in docs, f"contract {name} missing from docs/grading.md"
        for attr, text in contract.names.items():
            assert text.strip(), f"{name}.{attr} has no interface text"
            assert attr in docs, f"{name}.{attr} missing from docs/grading.md"


@pytest.mark.nightly
def test_the_seeds_jacobian_signature_is_graded_through_the_adapter(tmp_path):
    proc, doc, _ = grade(tmp_path, f"--impl=jacobian={FIXTURES / 'seed_signature_jacobian.py'}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not statuses(doc, "failed")
    assert "jacobian.chain_rule" in statuses(doc, "verified")


@pytest.mark.nightly
def test_a_vugrad_style_library_is_graded_through_an_adapter_file(tmp_path):
    proc, doc, _ = grade(tmp_path, f"--impl=autodiff={FIXTURES / 'vugrad_adapter.py'}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not statuses(doc, "failed")
    assert {"ops.matmul_gradient", "ops.expand_gradient", "ops.residual_mlp_gradient",
            "ops.graph_structure"} <= statuses(doc, "verified")
