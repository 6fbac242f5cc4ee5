"""Verdict words match the evidence (DESIGN.md, "Verdicts mean exactly what they say").

* ``refuted`` only with an exact counterexample: a refuted claim's witnesses include a kind
  that produces one (symbolic, implementation or autograd), both as the claim declares them and
  as its tests declare them; no claim witnessed by experiments alone is refuted.
* ``not-reproduced`` carries our setting, the seed's setting and the figures; ``reading-
  dependent`` carries each reading with its verdict, each reading saying whose it is.
* The registry refuses a claim that breaks these rules (``claim()`` validates).

These are registry tests: they carry no claim marker and are not witnesses.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from derivations.registry import load_all
from dlmath_verify import registry as R

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = load_all()


def _kinds(mark) -> tuple[str, ...]:
    kind = mark.kwargs.get("kind")
    if kind is None:
        return ()
    return (kind,) if isinstance(kind, str) else tuple(kind)


@cache
def declared_test_kinds() -> dict[str, set[str]]:
    """claim id → the witness kinds its tests declare (``claim(..., kind=...)``), read from the
    marks of every ``tests/test_*.py`` (a test without ``kind=`` declares none)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, obj in vars(module).items():
            if not (name.startswith("test") and callable(obj)):
                continue
            for mark in getattr(obj, "pytestmark", ()):
                if mark.name == "claim":
                    for cid in mark.args:
                        found[cid].update(_kinds(mark))
    return found


REFUTED = sorted(c.id for c in REGISTRY.values() if c.verdict == "refuted")


@pytest.mark.parametrize("claim_id", REFUTED)
def test_refuted_claim_has_a_counterexample_producing_witness(claim_id):
    """Declared on the claim (``witnesses=``) or on its tests (``kind=``): whichever is
    declared includes a counterexample kind, never experiment alone."""
    c = REGISTRY[claim_id]
    exact = set(R.COUNTEREXAMPLE_KINDS)
    if c.witnesses is not None:
        assert set(c.witnesses) & exact, (
            f"{claim_id} is refuted but declares only {c.witnesses} witnesses: an experiment "
            f"that does not reproduce is 'not-reproduced'")
    kinds = declared_test_kinds().get(claim_id, set())
    if kinds:
        assert kinds & exact, (
            f"{claim_id} is refuted but its tests are only {sorted(kinds)} witnesses")


def test_no_experiment_only_claim_is_refuted():
    """A claim whose witnesses (declared on it or on its tests) are experiments only is never
    refuted: the experiments topic's claims that do not reproduce are 'not-reproduced'."""
    bad = []
    for c in REGISTRY.values():
        kinds = set(c.witnesses or ()) | declared_test_kinds().get(c.id, set())
        if kinds and kinds <= {"experiment"} and c.verdict == "refuted":
            bad.append(c.id)
    assert not bad, f"refuted on experiments alone: {bad}"


@pytest.mark.parametrize("claim_id", sorted(c.id for c in REGISTRY.values()
                                            if c.verdict == "not-reproduced"))
def test_not_reproduced_claim_states_both_settings_and_figures(claim_id):
    evidence = REGISTRY[claim_id].evidence
    assert isinstance(evidence, R.Evidence)
    assert any(ch.isdigit() for ch in evidence.figures), f"{claim_id}: no figures"


@pytest.mark.parametrize("claim_id", sorted(c.id for c in REGISTRY.values()
                                            if c.verdict == "reading-dependent"))
def test_reading_dependent_claim_gives_each_reading_its_verdict(claim_id):
    readings = REGISTRY[claim_id].readings
    assert readings and len({v for _, v in readings}) >= 2
    for text, verdict in readings:
        assert text.startswith(("our reading: ", "seed (")), text
        assert verdict in R.READING_VERDICTS


# ------------------------------------------------------------- the registry refuses bad claims


def _register(**kw):
    """Register a throwaway claim and remove it again (the registry is global)."""
    cid = kw.pop("id", "verdicts_test.throwaway")
    try:
        return R.claim(cid, source="test", statement="test", **kw)
    finally:
        R.REGISTRY.pop(cid, None)


_EVIDENCE = R.Evidence(ours="a digits MLP", seed="a CIFAR CNN", figures="0.97 vs 0.95")
_READINGS = (("our reading: before any update", "not-reproduced"),
             ("our reading: after one epoch", "holds"))


@pytest.mark.conventions
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"verdict": "refuted", "corrected_by": "x.y", "witnesses": ("experiment",)}, ValueError,
     r"needs a witness that produces an exact counterexample"),
    ({"verdict": "not-reproduced"}, ValueError, r"evidence= .* required for a 'not-reproduced'"),
    ({"evidence": _EVIDENCE}, ValueError, r"evidence= .* only for it"),
    ({"verdict": "not-reproduced", "evidence": "a string"}, TypeError,
     r"evidence must be an Evidence"),
    ({"verdict": "reading-dependent"}, ValueError, r"readings= .* required"),
    ({"readings": _READINGS}, ValueError, r"readings= .* only for it"),
    ({"verdict": "reading-dependent",
      "readings": (("the seed reads it as before any update", "holds"),
                   ("our reading: after one epoch", "not-reproduced"))},
     ValueError, r"must say whose it is"),
    ({"verdict": "reading-dependent",
      "readings": (("our reading: a", "holds"), ("our reading: b", "holds"))},
     ValueError, r"different verdicts"),
    ({"verdict": "reading-dependent",
      "readings": (("our reading: a", "holds"), ("our reading: b", "verified"))},
     ValueError, r"must be one of"),
    ({"verdict": "holds", "corrected_by": "x.y"}, ValueError, r"corrected_by belongs to a "
     r"refuted claim"),
])
def test_registry_refuses_a_verdict_without_its_evidence(kwargs, error, match):
    with pytest.raises(error, match=match):
        _register(**kwargs)


@pytest.mark.conventions
def test_registry_accepts_each_verdict_with_its_evidence():
    assert _register(verdict="not-reproduced", evidence=_EVIDENCE).evidence == _EVIDENCE
    assert _register(verdict="reading-dependent", readings=_READINGS).readings == _READINGS
    seed_reading = (("seed (§1.2 b 5): 𝟏 is the identity", "holds"),
                    ("our reading: 𝟏 is all ones", "refuted"))
    assert _register(verdict="reading-dependent", readings=seed_reading).readings
    assert _register(verdict="refuted", corrected_by="x.y", witnesses=("symbolic",))
    with pytest.raises(ValueError, match=r"Evidence\.figures must be a non-empty string"):
        R.Evidence(ours="a", seed="b", figures=" ")
    assert "figures: 0.97 vs 0.95" in str(_EVIDENCE)
