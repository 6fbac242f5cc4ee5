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
    softmax,
)

ENTRIES = [*softmax.ENTRIES, *least_squares.ENTRIES, *momentum.ENTRIES, *relu_net.ENTRIES,
           *modules.ENTRIES, *conv.ENTRIES, *batchnorm.ENTRIES, *fields.ENTRIES,
           *autodiff.ENTRIES, *experiments.ENTRIES,
           *rewritten.ENTRIES]

# Entries whose refusals (the corruption template) fail the contract today, each an
# xfail(strict=True) so that the fix (on another branch) turns it into a failure that asks for
# the xfail to go.
_J = "impl/jacobian.py is being rewritten on branch jacobian"
_F = "impl/flops.py is being rewritten on branch counting"
XFAIL: dict[str, str] = {
    # mixed kinds/dtypes are ValueErrors there (TypeError here); NaN/inf in x are accepted
    "jacobian.validate": _J,
    "jacobian.network": _J,
    "jacobian.jacobian_reverse": _J,
    "jacobian.jacobian_forward": _J,
    # the seed's verbatim functions validate nothing (KeyError, AttributeError)
    "jacobian.seed_my_nn_2a": _J,
    "jacobian.seed_my_backward_2a": _J,
    "jacobian.seed_my_forward_2b": _J,
    # an input shape the model rejects is named by the layer, not by input_shape
    "flops.count": _F,
}
