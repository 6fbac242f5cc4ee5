"""Error-input entries of impl/modules.py and impl/mlp.py."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from impl import mlp as P
from impl.modules import CrossEntropyModule, LinearModule, ReLUModule, SoftMaxModule
from tests.error_inputs import TYPE, VALUE, Arr, Bad, Entry, Num, draw_array

NP = Arr(kind="numpy")


def _sizes(data):
    return (data.draw(st.integers(1, 4), label="N"), data.draw(st.integers(1, 4), label="in"),
            data.draw(st.integers(1, 4), label="out"))


def _linear(data):
    n, i, o = _sizes(data)
    return {"x": draw_array(data, (n, i)), "dout": draw_array(data, (n, o)),
            "weight": draw_array(data, (o, i)), "in_features": i, "out_features": o,
            "weight_std": data.draw(st.floats(0, 1), label="weight_std"), "rng": None}


def _module(a):
    lin = LinearModule(a["in_features"], a["out_features"], weight_std=a["weight_std"])
    lin.params["weight"] = a["weight"].copy()
    return lin


def _lin_backward(a):
    lin = _module(a)
    lin.forward(a["x"])
    return lin.backward(a["dout"]), lin.grads


def _xd(data):
    n, c, _ = _sizes(data)
    return {"x": draw_array(data, (n, c)), "dout": draw_array(data, (n, c))}


def _relu_backward(a):
    m = ReLUModule()
    m.forward(a["x"])
    return m.backward(a["dout"])


def _softmax_backward(a):
    m = SoftMaxModule()
    m.forward(a["x"])
    return m.backward(a["dout"])


def _xy(data):
    n, c, _ = _sizes(data)
    x = draw_array(data, (n, c), lo=0.05, hi=1.5)
    return {"x": x, "y": np.eye(c)[np.arange(n) % c]}


Y_BAD = [Bad("y: not a distribution", ("y",), lambda v, s: v * 2, VALUE, "y"),
         Bad("x: ≤ 0 where y > 0", ("x",), lambda v, s: v - 10, VALUE, "x")]
XD = {("x",): NP, ("dout",): NP}


def _mlp(data):
    n, i, c = _sizes(data)
    return {"n_inputs": i, "n_hidden": [data.draw(st.integers(1, 3), label="hidden")],
            "n_classes": c, "x": draw_array(data, (n, i)),
            "targets": np.eye(c)[np.arange(n) % c], "lr": data.draw(st.floats(0, 1)),
            "dout": draw_array(data, (n, c))}


def _net(a):
    return P.ModuleMLP(a["n_inputs"], a["n_hidden"], a["n_classes"], weight_std=0.5)


def _mlp_step(a):
    net = _net(a)
    net.loss_and_backward(a["x"], a["targets"])
    net.sgd_step(a["lr"])
    return net.forward(a["x"])


def _mlp_backward(a):
    net = _net(a)
    net.forward(a["x"])
    return net.backward(a["dout"])


MLP_SIZES = {("n_inputs",): Num(low=1, integer=True), ("n_classes",): Num(low=1, integer=True),
             ("n_hidden", 0): Num(low=1, integer=True)}
TARGETS = [Bad("targets: not a distribution", ("targets",), lambda v, s: v * 2, VALUE,
               "targets")]


def _tanh(data):
    n, d, h = _sizes(data)
    kind = data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    conv = (lambda a: torch.from_numpy(a)) if kind == "torch" else (lambda a: a)
    params = {"W1": conv(draw_array(data, (h, d))), "b1": conv(draw_array(data, (h,))),
              "w2": conv(draw_array(data, (h,))), "b2": conv(draw_array(data, ()))}
    return {"x": conv(draw_array(data, (n, d))), "y": conv(draw_array(data, (n,))),
            "params": params, "loss": data.draw(st.sampled_from(["mae", "mse"]))}


# the regressor converts everything to float64 numpy (its docstring): kinds and dtypes may mix
PARAMS = {("params", k): Arr(mix=False, rank=k != "b2", empty="skip" if k == "b2" else "reject")
          for k in P.TANH_REGRESSION_KEYS}
LOSS = [Bad("loss: misspelt", ("loss",), lambda v, s: "mse ", VALUE, "loss"),
        Bad("params: a missing key", ("params",), lambda v, s: {"W1": v["W1"]}, VALUE, "b1"),
        Bad("params: not a dict", ("params",), lambda v, s: list(v.values()), TYPE, "params")]


def _sigmoid_net(data):
    depth = data.draw(st.integers(1, 3), label="L")
    widths = [data.draw(st.integers(1, 3)) for _ in range(depth + 1)]
    kind = data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    conv = (lambda a: torch.from_numpy(a)) if kind == "torch" else (lambda a: a)
    return {"x": conv(draw_array(data, (widths[0], 1))),
            "a_list": [conv(draw_array(data, (widths[k + 1], widths[k]))) for k in range(depth)],
            "b_list": [conv(draw_array(data, (widths[k + 1], 1))) for k in range(depth)],
            "target": conv(draw_array(data, (widths[-1], 1)))}


SIG = {("x",): Arr(), ("a_list", 0): Arr(), ("b_list", 0): Arr()}
LISTS = [Bad("a_list: empty", ("a_list",), lambda v, s: [], VALUE, "a_list"),
         Bad("b_list: a tensor, not a list", ("b_list",), lambda v, s: v[0], TYPE, "b_list")]


def _elementwise(data):
    n = data.draw(st.integers(1, 4), label="N")
    kind = data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    a = draw_array(data, (n,), lo=-30, hi=30)
    return {"x": torch.from_numpy(a) if kind == "torch" else a}


POINTWISE = {("x",): Arr(nan="propagate", empty="ok", rank=False)}

ENTRIES = [
    Entry("modules.LinearModule", _linear,
          lambda a: LinearModule(a["in_features"], a["out_features"],
                                 weight_std=a["weight_std"], rng=a["rng"]).params,
          {("in_features",): Num(low=1, integer=True), ("out_features",): Num(low=1, integer=True),
           ("weight_std",): Num(low=0)},
          [Bad("rng: an int seed", ("rng",), lambda v, s: 0, TYPE, "rng")], f32=False),
    Entry("modules.LinearModule.forward", _linear, lambda a: _module(a).forward(a["x"]),
          {("x",): Arr(kind="numpy", mix=False)}, growth=4),
    Entry("modules.LinearModule.backward", _linear, _lin_backward,
          {("x",): Arr(kind="numpy", mix=False), ("dout",): Arr(kind="numpy", mix=False)},
          growth=4),
    Entry("modules.ReLUModule", _xd, lambda a: ReLUModule().forward(a["x"]), {("x",): NP}),
    Entry("modules.SoftMaxModule", _xd, lambda a: SoftMaxModule().forward(a["x"]),
          {("x",): NP}),
    Entry("modules.CrossEntropyModule", _xy,
          lambda a: CrossEntropyModule().forward(a["x"], a["y"]),
          {("x",): NP, ("y",): NP}, Y_BAD, growth=4),
    Entry("modules.ReLUModule.forward", _xd, lambda a: ReLUModule().forward(a["x"]),
          {("x",): NP}),
    Entry("modules.ReLUModule.backward", _xd, _relu_backward, XD,
          f32=False),  # the mask 𝟙(x > 0) changes where x rounds to 0 in float32
    Entry("modules.SoftMaxModule.forward", _xd, lambda a: SoftMaxModule().forward(a["x"]),
          {("x",): NP}),
    Entry("modules.SoftMaxModule.backward", _xd, _softmax_backward, XD, growth=4),
    Entry("modules.CrossEntropyModule.forward", _xy,
          lambda a: CrossEntropyModule().forward(a["x"], a["y"]),
          {("x",): NP, ("y",): NP}, Y_BAD, growth=4),
    Entry("modules.CrossEntropyModule.backward", _xy,
          lambda a: CrossEntropyModule().backward(a["x"], a["y"]),
          {("x",): NP, ("y",): NP}, Y_BAD, growth=4),
    Entry("mlp.ModuleMLP", _mlp, lambda a: [m.params for m in _net(a).linears], MLP_SIZES),
    # ModuleMLP's weights are float64 (drawn by numpy): it computes in float64, no f32 variant
    Entry("mlp.ModuleMLP.forward", _mlp, lambda a: _net(a).forward(a["x"]),
          {("x",): Arr(kind="numpy", mix=False)}, f32=False),
    Entry("mlp.ModuleMLP.backward", _mlp, _mlp_backward,
          {("dout",): Arr(kind="numpy", mix=False)}, f32=False),
    Entry("mlp.ModuleMLP.loss", _mlp, lambda a: _net(a).loss(a["x"], a["targets"]),
          {("x",): Arr(kind="numpy", mix=False), ("targets",): Arr(kind="numpy", mix=False)},
          TARGETS, f32=False),
    Entry("mlp.ModuleMLP.loss_and_backward", _mlp,
          lambda a: (lambda n: (n.loss_and_backward(a["x"], a["targets"]),
                                [m.grads for m in n.linears]))(_net(a)),
          {("x",): Arr(kind="numpy", mix=False), ("targets",): Arr(kind="numpy", mix=False)},
          TARGETS, f32=False),
    Entry("mlp.ModuleMLP.sgd_step", _mlp, _mlp_step, {("lr",): Num(low=0)}, f32=False),
    Entry("mlp.TANH_REGRESSION_KEYS", _mlp, lambda a: None,
          record="a tuple of the parameter names; immutable"),
    Entry("mlp.tanh_regression_forward", _tanh,
          lambda a: P.tanh_regression_forward(a["x"], a["params"]),
          {("x",): Arr(mix=False), **PARAMS}, LOSS[1:], growth=8, kinds=False),
    Entry("mlp.tanh_regression_backward", _tanh,
          lambda a: P.tanh_regression_backward(a["x"], a["y"], a["params"], loss=a["loss"]),
          {("x",): Arr(mix=False), ("y",): Arr(mix=False), **PARAMS}, LOSS, growth=8,
          kinds=False, f32=False),  # sign(ŷ − y) may flip in float32
    Entry("mlp.sigmoid", _elementwise, lambda a: P.sigmoid(a["x"]), POINTWISE),
    Entry("mlp.sigmoid_prime", _elementwise, lambda a: P.sigmoid_prime(a["x"]), POINTWISE),
    Entry("mlp.sigmoid_mlp_forward", _sigmoid_net,
          lambda a: P.sigmoid_mlp_forward(a["x"], a["a_list"], a["b_list"]), SIG, LISTS,
          growth=8),
    Entry("mlp.sigmoid_mlp_backward", _sigmoid_net,
          lambda a: P.sigmoid_mlp_backward(a["x"], a["target"], a["a_list"], a["b_list"]),
          {**SIG, ("target",): Arr()}, LISTS, growth=16),
    Entry("mlp.sigmoid_mlp_output_jacobians", _sigmoid_net,
          lambda a: P.sigmoid_mlp_output_jacobians(a["x"], a["a_list"], a["b_list"]), SIG,
          LISTS, growth=16),
]
