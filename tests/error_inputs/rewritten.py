"""Error-input entries of impl/jacobian.py and impl/flops.py (both rewritten for per-layer
widths and operator-level counting); where today's code fails an entry, table.XFAIL marks it
xfail(strict=True) with the reason."""

from __future__ import annotations

import torch
from hypothesis import strategies as st
from torch import nn

from impl import flops as F
from impl import jacobian as J
from tests.error_inputs import TYPE, VALUE, Arr, Bad, Entry, as_kind, draw_array


def _problem(data):
    d, k, p = (data.draw(st.integers(1, 3), label=n) for n in ("D", "K", "P"))
    L = data.draw(st.integers(1, 3), label="L")
    kind = data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    params = {"W1": as_kind(draw_array(data, (k, d)), kind)}
    for i in range(2, L + 1):
        params[f"W{i}"] = as_kind(draw_array(data, (k, k)), kind)
    params["WF"] = as_kind(draw_array(data, (p, k)), kind)
    return {"x": as_kind(draw_array(data, (d,)), kind), "params": params, "L": L}


# The Jacobian's contract (issue 8) refuses mixed kinds and dtypes with a ValueError naming
# the key; a tanh network is defined for every real input and NaN/inf propagate (docstring).
_J_ARR = Arr(nan="propagate", mix=False)
SPEC = {("x",): _J_ARR, ("params", "W1"): _J_ARR, ("params", "WF"): _J_ARR}
PARAMS_BAD = [Bad("params['W1']: the other array kind", ("params", "W1"),
                  lambda v, s: v.numpy() if hasattr(v, "numpy") else torch.from_numpy(v), VALUE,
                  r"params\['W1'\]"),
              Bad("params['WF']: the other float dtype", ("params", "WF"),
                  lambda v, s: v.astype("float32") if hasattr(v, "astype") else v.float(),
                  VALUE, r"params\['WF'\]"),
              Bad("params: a missing key", ("params",), lambda v, s: {"W1": v["W1"]}, VALUE,
                  "WF"),
              Bad("params: a list", ("params",), lambda v, s: list(v.values()), TYPE, "params")]


def _widths(data):
    L = data.draw(st.integers(1, 4), label="L")
    return {"widths": tuple(data.draw(st.integers(1, 6), label=f"r{i}") for i in range(L + 2))}


def _count(data):
    c = data.draw(st.integers(1, 2), label="C")
    h = data.draw(st.integers(3, 5), label="H")
    return {"model": nn.Sequential(nn.Conv2d(c, 2, 3), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(2 * (h - 2) ** 2, 3)),
            "input_shape": (c, h, h)}


ENTRIES = [
    Entry("jacobian.validate", _problem, lambda a: J.validate(a["x"], a["params"]),
          {k: Arr(nan="skip", mix=False) for k in SPEC}, PARAMS_BAD, f32=False),
    Entry("jacobian.network", _problem, lambda a: J.network(a["x"], a["params"]), SPEC,
          PARAMS_BAD, growth=8),
    Entry("jacobian.jacobian_reverse", _problem,
          lambda a: J.jacobian_reverse(a["x"], a["params"]), SPEC, PARAMS_BAD, growth=16),
    Entry("jacobian.jacobian_forward", _problem,
          lambda a: J.jacobian_forward(a["x"], a["params"]), SPEC, PARAMS_BAD, growth=16),
    Entry("jacobian.jacobian_optimal", _problem,
          lambda a: J.jacobian_optimal(a["x"], a["params"]), SPEC, PARAMS_BAD, growth=16),
    Entry("jacobian.dense_diag_reverse", _problem,
          lambda a: J.dense_diag_reverse(a["x"], a["params"]), SPEC, PARAMS_BAD, growth=16),
    Entry("jacobian.dense_diag_forward", _problem,
          lambda a: J.dense_diag_forward(a["x"], a["params"]), SPEC, PARAMS_BAD, growth=16),
    Entry("jacobian.accumulation_plan", _widths,
          lambda a: J.accumulation_plan(a["widths"]).chain_macs, {},
          [Bad("widths: None", ("widths",), lambda v, s: None, TYPE, "widths"),
           Bad("widths: one layer short", ("widths",), lambda v, s: v[:2], VALUE, "widths"),
           Bad("widths: a zero", ("widths",), lambda v, s: (0, *v[1:]), VALUE, "widths"),
           Bad("widths: a float", ("widths",), lambda v, s: (float(v[0]), *v[1:]), TYPE,
               "widths")],
          f32=False, kinds=False),
    Entry("jacobian.Plan", _widths, lambda a: None,
          record="a frozen dataclass that accumulation_plan returns (bracketing and cost)"),
    Entry("flops.count", _count, lambda a: F.count(a["model"], a["input_shape"]).totals(), {},
          [Bad("model: None", ("model",), lambda v, s: None, TYPE, "model"),
           Bad("input_shape: None", ("input_shape",), lambda v, s: None, TYPE, "input_shape"),
           Bad("input_shape: a zero", ("input_shape",), lambda v, s: (v[0], 0, v[2]), VALUE,
               "input_shape"),
           Bad("input_shape: a float", ("input_shape",), lambda v, s: (float(v[0]), *v[1:]),
               TYPE, "input_shape"),
           # issue 16: the model's refusal is a ValueError naming the input and the layer
           Bad("input_shape: the model rejects it", ("input_shape",),
               lambda v, s: (v[0] + 1, *v[1:]), VALUE, "input")],
          f32=False, kinds=False),
    Entry("flops.Counts", _count, lambda a: None,
          record="a frozen dataclass of LayerCount rows that count() returns; total(what) "
                 "refuses an unknown column"),
    Entry("flops.LayerCount", _count, lambda a: None,
          record="a frozen dataclass: one counted layer call"),
    Entry("flops.UncountedOperation", _count, lambda a: None,
          record="the TypeError count() raises for an operation without a rule"),
    Entry("flops.register_rule", _count, lambda a: None,
          record="registers a counting rule for an aten operation; its misuse is tested in "
                 "tests/test_flops.py (a non-operation, a non-callable rule)"),
]
