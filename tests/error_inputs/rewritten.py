"""Error-input entries of impl/flops.py and impl/jacobian.py, both being rewritten on other
branches (``counting``, ``jacobian``) whose engineers meet this contract in their new code.
The entries state the contract; where today's code fails one, table.XFAIL marks it
xfail(strict=True) so that the merge shows which now pass."""

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


SPEC = {("x",): Arr(), ("params", "W1"): Arr(), ("params", "WF"): Arr()}
PARAMS_BAD = [Bad("params: a missing key", ("params",), lambda v, s: {"W1": v["W1"]}, VALUE,
                  "WF"),
              Bad("params: a list", ("params",), lambda v, s: list(v.values()), TYPE, "params")]


def _seed_call(fn):
    def call(a):
        p = {k: torch.as_tensor(v) for k, v in a["params"].items()}
        return fn(torch.as_tensor(a["x"]), a["L"], p)
    return call


def _count(data):
    c = data.draw(st.integers(1, 2), label="C")
    h = data.draw(st.integers(3, 5), label="H")
    return {"model": nn.Sequential(nn.Conv2d(c, 2, 3), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(2 * (h - 2) ** 2, 3)),
            "input_shape": (c, h, h)}


ENTRIES = [
    Entry("jacobian.validate", _problem, lambda a: J.validate(a["x"], a["params"]), SPEC,
          PARAMS_BAD, f32=False),
    Entry("jacobian.network", _problem, lambda a: J.network(a["x"], a["params"]), SPEC,
          PARAMS_BAD, growth=8),
    Entry("jacobian.jacobian_reverse", _problem,
          lambda a: J.jacobian_reverse(a["x"], a["params"]), SPEC, PARAMS_BAD, growth=16),
    Entry("jacobian.jacobian_forward", _problem,
          lambda a: J.jacobian_forward(a["x"], a["params"]), SPEC, PARAMS_BAD, growth=16),
    Entry("jacobian.seed_my_nn_2a", _problem, _seed_call(J.seed_my_nn_2a), {}, PARAMS_BAD,
          kinds=False, f32=False),
    Entry("jacobian.seed_my_backward_2a", _problem, _seed_call(J.seed_my_backward_2a), {},
          PARAMS_BAD, kinds=False, f32=False),
    Entry("jacobian.seed_my_forward_2b", _problem, _seed_call(J.seed_my_forward_2b), {},
          PARAMS_BAD, kinds=False, f32=False),
    Entry("flops.count", _count, lambda a: F.count(a["model"], a["input_shape"]).totals(), {},
          [Bad("model: None", ("model",), lambda v, s: None, TYPE, "model"),
           Bad("input_shape: None", ("input_shape",), lambda v, s: None, TYPE, "input_shape"),
           Bad("input_shape: a zero", ("input_shape",), lambda v, s: (v[0], 0, v[2]), VALUE,
               "input_shape"),
           Bad("input_shape: a float", ("input_shape",), lambda v, s: (float(v[0]), *v[1:]),
               TYPE, "input_shape"),
           Bad("input_shape: the model rejects it", ("input_shape",),
               lambda v, s: (v[0] + 1, *v[1:]), VALUE, "input_shape")],
          f32=False, kinds=False),
    Entry("flops.Counts", _count, lambda a: None,
          record="a frozen dataclass of LayerCount rows that count() returns; total(what) "
                 "refuses an unknown column"),
    Entry("flops.LayerCount", _count, lambda a: None,
          record="a frozen dataclass: one counted layer call"),
]
