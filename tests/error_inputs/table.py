"""The whole table: every module's entries, and the entries known to fail today."""

from __future__ import annotations

from tests.error_inputs import (
    autodiff,
    batchnorm,
    conv,
    experiments,
    fields,
    least_squares,
    modules,
    momentum,
    relu_net,
    rewritten,
    seed_code,
    softmax,
)

ENTRIES = [*softmax.ENTRIES, *least_squares.ENTRIES, *momentum.ENTRIES, *relu_net.ENTRIES,
           *modules.ENTRIES, *conv.ENTRIES, *batchnorm.ENTRIES, *fields.ENTRIES,
           *autodiff.ENTRIES, *experiments.ENTRIES,
           *rewritten.ENTRIES, *seed_code.ENTRIES]

# Entries whose refusals (the corruption template) fail the contract today, each an
# xfail(strict=True) so that the fix (on another branch) turns it into a failure that asks for
# the xfail to go.
XFAIL: dict[str, str] = {}
