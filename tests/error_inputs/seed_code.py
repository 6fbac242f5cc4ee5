"""Error-input entries of impl/seed_code.py: faithful re-implementations of constructions the
seeds describe (with their defects, on purpose), run by tests/test_seed_code.py with fixed
arguments. They are evidence, not kernels: nothing here computes what a user passes in."""

from __future__ import annotations

from tests.error_inputs import Entry

_WHY = "a re-implementation of a seed's construction, defects included, run with fixed settings"

ENTRIES = [Entry(f"seed_code.{name}", lambda data: {}, lambda a: None, record=_WHY)
           for name in ("P6Run", "Q1Run", "p6_epoch", "q11_forward", "q1_training", "q4_printed")]
