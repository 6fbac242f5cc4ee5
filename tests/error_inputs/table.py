"""The whole table: every module's entries, and the entries known to fail today."""

from __future__ import annotations

from tests.error_inputs import softmax

ENTRIES = [*softmax.ENTRIES]

# Entries whose current code fails its contract, each an xfail(strict=True) so that the fix
# (on another branch) turns it into a failure that asks for the xfail to go.
XFAIL: dict[str, str] = {}
