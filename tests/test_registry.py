"""The registry is consistent: every claim has a witness, and README.md shows the current table."""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from derivations.registry import REGISTRY, markdown_table

ROOT = Path(__file__).resolve().parent.parent


def _claim_marks(marks) -> list[str]:
    """Claim ids in a list of marks, including those on ``pytest.param(..., marks=...)``
    values of a ``parametrize`` mark."""
    ids = []
    for mark in marks:
        if mark.name == "claim":
            ids.extend(mark.args)
        elif mark.name == "parametrize":
            for value in mark.args[1]:
                ids.extend(_claim_marks(getattr(value, "marks", ())))
    return ids


@cache
def witnesses() -> dict[str, list[str]]:
    """claim id → the tests marked with it, read from the marks pytest itself uses (so a
    marker written as ``claim(*ids)`` counts), over every ``tests/test_*.py``."""
    found = defaultdict(list)
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, obj in vars(module).items():
            if name.startswith("test") and callable(obj):
                for claim_id in _claim_marks(getattr(obj, "pytestmark", ())):
                    found[claim_id].append(f"{path.name}::{name}")
    return found


@pytest.mark.parametrize("claim_id", sorted(REGISTRY))
def test_every_registered_claim_is_named_by_a_test(claim_id):
    """A claim with no test marked ``@pytest.mark.claim(<id>)`` would be a stub called done."""
    assert witnesses().get(claim_id), (
        f"claim {claim_id} is registered but no test is marked with it")


def test_refuted_claims_name_a_corrected_claim_that_holds():
    for c in REGISTRY.values():
        if c.verdict == "refuted":
            assert REGISTRY[c.corrected_by].verdict == "holds", (
                f"{c.id} is corrected by {c.corrected_by}, which is not a claim that holds")


def test_readme_claims_table_is_the_registry():
    """README.md carries ``python -m derivations`` output between the claims markers."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- claims:start -->\n(.*?)\n<!-- claims:end -->", readme, re.S)
    assert match, "README.md has no <!-- claims:start --> … <!-- claims:end --> block"
    assert match.group(1).strip() == markdown_table().strip(), (
        "README.md's claims table is stale: regenerate it with `python -m derivations`")
