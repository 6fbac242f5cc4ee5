"""The suite's three tiers, from the markers ``slow`` and ``nightly`` (``pyproject.toml``):

  quick    ``-m "not slow"``     the edit-test loop, about 100 s serially on a 2-core machine;
  CI       ``-m "not nightly"``  every witness except the long runs, what ``.ci/run`` runs;
  nightly  everything            training experiments, planted-bug grading runs, full-size models.

A nightly test is slow too. The quick tier must keep at least one witness of every kind each
claim requires wherever CI has one, so that a quick run reports every claim CI can verify as
``verified`` rather than ``partial``: :func:`quick_tier_gaps` names each (claim, kind) that only
slow tests witness, and the root conftest refuses a whole-suite collection that has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest


def tier(item: pytest.Item) -> str:
    """``quick``, ``slow`` or ``nightly``, from the item's markers."""
    if item.get_closest_marker("nightly"):
        return "nightly"
    return "slow" if item.get_closest_marker("slow") else "quick"


def quick_tier_gaps(items: Iterable[tuple[str, str, Mapping[str, Iterable[str]]]],
                    required: Mapping[str, Iterable[str]]) -> list[str]:
    """``items``: (node id, tier, {claim: witness kinds}) with tier ``quick``, ``slow`` or
    ``nightly``; ``required``: {claim: the kinds it requires}. One line per required
    (claim, kind) that a CI-tier test witnesses and no quick test does."""
    ci: dict[tuple[str, str], list[str]] = {}
    quick: set[tuple[str, str]] = set()
    for nodeid, tier, kinds_of in items:
        for cid, kinds in kinds_of.items():
            for kind in kinds:
                if kind not in required.get(cid, ()):
                    continue
                if tier == "quick":
                    quick.add((cid, kind))
                if tier in ("quick", "slow"):
                    ci.setdefault((cid, kind), []).append(nodeid)
    return [f"claim {cid}: its {kind} witnesses are all marked slow ({', '.join(ids[:3])}"
            f"{', …' if len(ids) > 3 else ''}); unmark one, or the quick run reports it partial"
            for (cid, kind), ids in sorted(ci.items()) if (cid, kind) not in quick]


def slow_except(values: Iterable, quick: Iterable) -> list:
    """``values`` as pytest params, each marked slow except those in ``quick``: the quick tier
    keeps one case of a parametrised witness, CI runs them all."""
    values, keep = list(values), set(quick)
    missing = keep - set(values)
    if missing:
        raise ValueError(f"quick cases {sorted(missing)} are not among the values")
    return [v if v in keep else pytest.param(v, marks=pytest.mark.slow) for v in values]


def refutation_settings():
    """Hypothesis settings for a refutation witness: a quarter of the profile's examples (10
    under ``ci``, 100 under ``nightly``). A claim false as written is refuted by one exact
    counterexample; each example finds another, and the fortieth proves nothing the tenth did
    not. Call it at a test module's import, after the profile is loaded."""
    from hypothesis import settings

    return settings(max_examples=max(5, settings.default.max_examples // 4))
