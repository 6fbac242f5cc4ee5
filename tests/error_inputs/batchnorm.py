"""Error-input entries of impl/batchnorm.py and impl/custom_batchnorm.py."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

from impl import batchnorm as K
from impl import custom_batchnorm as C
from tests.error_inputs import TYPE, VALUE, Arr, Bad, Entry, Num, as_kind, draw_array

EPS = Num(low=0, low_open=True)
ONE_ROW = Bad("x: a batch of one", ("x",), lambda v, s: v[:1], VALUE, "x")


def _batch(data, kind=None):
    n, c = data.draw(st.integers(2, 4), label="N"), data.draw(st.integers(1, 3), label="C")
    kind = kind or data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    return (as_kind(draw_array(data, (n, c)) + np.arange(n)[:, None], kind),  # σ² ≥ ~1
            as_kind(draw_array(data, (c,)), kind), as_kind(draw_array(data, (c,)), kind),
            as_kind(draw_array(data, (n, c)), kind))


def _kernel(data):
    x, gamma, beta, g = _batch(data)
    return {"x": x, "gamma": gamma, "beta": beta, "grad_y": g,
            "eps": data.draw(st.floats(1e-5, 1e-1), label="eps")}


PER_NEURON = Arr(empty="skip")  # (C,): a rank less is 0-d; emptiness is a length mismatch


def _layer_and_bn(data):
    conv = data.draw(st.booleans(), label="conv")
    c = data.draw(st.integers(1, 3), label="C")
    layer = nn.Conv2d(2, c, 1) if conv else nn.Linear(2, c)
    bn = (nn.BatchNorm2d if conv else nn.BatchNorm1d)(c).eval()
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16), label="seed"))
    with torch.no_grad():
        for t in (*layer.parameters(), bn.weight, bn.bias, bn.running_mean):
            t.copy_(torch.rand(t.shape, generator=g) - 0.5)
        bn.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    probe = torch.rand((3, 2, 2, 2) if conv else (3, 2), generator=g)
    return {"layer": layer, "bn": bn, "probe": probe}


def _apply(module, probe):
    with torch.no_grad():
        return module.eval()(probe)


def _bn_buffer(name, value):
    def corrupt(bn, sample):
        bad = type(bn)(bn.num_features).eval()
        bad.load_state_dict(bn.state_dict())
        with torch.no_grad():
            getattr(bad, name).fill_(value)
        return bad
    return corrupt


FOLD_BAD = [
    Bad("layer: None", ("layer",), lambda v, s: None, TYPE, "layer"),
    Bad("bn: None", ("bn",), lambda v, s: None, TYPE, "bn"),
    Bad("bn: running_var < 0", ("bn",), _bn_buffer("running_var", -1.0), VALUE, "running_var"),
    Bad("bn: running_var NaN", ("bn",), _bn_buffer("running_var", float("nan")), VALUE,
        "running_var"),
    Bad("bn: running_mean inf", ("bn",), _bn_buffer("running_mean", float("inf")), VALUE,
        "running_mean"),
    Bad("bn: weight NaN", ("bn",), _bn_buffer("weight", float("nan")), VALUE, "bn.weight"),
    Bad("bn: on the meta device", ("bn",), lambda v, s: _bn_meta(v), VALUE, "bn"),
]


def _bn_meta(bn):
    bad = type(bn)(bn.num_features).eval()
    return bad.to("meta")


def _fold_model(data):
    d = _layer_and_bn(data)
    return {"model": nn.Sequential(d["layer"], d["bn"], nn.ReLU()), "probe": d["probe"]}


def _seed(data):
    return {"channels": data.draw(st.integers(1, 2)), "size": data.draw(st.integers(1, 3)),
            "hidden": data.draw(st.integers(1, 3))}


def _seed_call(a):
    net = K.seed_network(a["channels"], a["size"], a["hidden"])
    return [tuple(p.shape) for p in net.parameters()]


SEED = {("channels",): Num(low=1, integer=True), ("size",): Num(low=1, integer=True),
        ("hidden",): Num(low=1, integer=True)}


def _seed_forward(data):
    a = _seed(data)
    a["x"] = torch.from_numpy(draw_array(data, (2, 3, a["size"], a["size"])))
    return a


def _seed_forward_call(a):
    torch.manual_seed(0)
    net = K.SeedNetwork(a["channels"], a["size"], a["hidden"]).eval()
    with torch.no_grad():
        return net(a["x"])


def _custom(data):
    x, gamma, beta, g = _batch(data, "torch")
    return {"input": x, "gamma": gamma, "beta": beta, "grad_output": g, "n_neurons": x.shape[1],
            "eps": data.draw(st.floats(1e-5, 1e-1), label="eps")}


def _function(a):
    return C.CustomBatchNormManualFunction.apply(a["input"], a["gamma"], a["beta"], a["eps"])


class _Ctx:
    """What forward leaves in ctx, so that backward is called as autograd calls it (autograd's
    engine checks grad_output's shape and dtype itself before calling backward; here backward's
    own checks are exercised)."""

    def __init__(self, x, gamma, eps):
        self.saved_tensors, self.eps = (x, gamma), eps
        self.needs_input_grad = (True, True, True, False)


def _function_backward(a):
    ctx = _Ctx(a["input"], a["gamma"], a["eps"])
    return C.CustomBatchNormManualFunction.backward(ctx, a["grad_output"])


def _module(cls):
    def call(a):
        return cls(a["n_neurons"], eps=a["eps"])(a["input"])
    return call


INPUT = Arr(kind="torch", mix=False)
MODULE_ARGS = {("input",): INPUT, ("n_neurons",): Num(low=1, integer=True), ("eps",): EPS}
INPUT_BAD = [Bad("input: a batch of one", ("input",), lambda v, s: v[:1], VALUE, "input"),
             Bad("input: a column more", ("input",), lambda v, s: torch.cat([v, v], 1), VALUE,
                 "input")]

ENTRIES = [
    Entry("batchnorm.batchnorm_statistics", _kernel,
          lambda a: K.batchnorm_statistics(a["x"], a["eps"]), {("x",): Arr(), ("eps",): EPS},
          [ONE_ROW], growth=8),
    Entry("batchnorm.batchnorm_forward", _kernel,
          lambda a: K.batchnorm_forward(a["x"], a["gamma"], a["beta"], a["eps"]),
          {("x",): Arr(), ("gamma",): PER_NEURON, ("beta",): PER_NEURON, ("eps",): EPS},
          [ONE_ROW], growth=8),
    Entry("batchnorm.batchnorm_backward", _kernel,
          lambda a: K.batchnorm_backward(a["x"], a["gamma"], a["grad_y"], a["eps"]),
          {("x",): Arr(), ("gamma",): PER_NEURON, ("grad_y",): Arr(), ("eps",): EPS},
          [ONE_ROW], growth=16),
    Entry("batchnorm.fold_into_layer", _layer_and_bn,
          lambda a: _apply(K.fold_into_layer(a["layer"], a["bn"]), a["probe"]), {}, FOLD_BAD,
          f32=False, kinds=False),
    Entry("batchnorm.fold_batchnorm", _fold_model,
          lambda a: _apply(K.fold_batchnorm(a["model"]), a["probe"]), {},
          [Bad("model: None", ("model",), lambda v, s: None, TYPE, "model"),
           Bad("model: a BN that follows no layer", ("model",),
               lambda v, s: nn.Sequential(nn.ReLU(), v[1]), VALUE, "BatchNorm")],
          f32=False, kinds=False),
    Entry("batchnorm.seed_network", _seed, _seed_call, SEED, f32=False),
    Entry("batchnorm.SeedNetwork", lambda d: {**_seed(d), "classes": 10},
          lambda a: [tuple(p.shape) for p in K.SeedNetwork(a["channels"], a["size"], a["hidden"],
                                                            a["classes"]).parameters()],
          {**SEED, ("classes",): Num(low=1, integer=True)}, f32=False),
    Entry("batchnorm.SeedNetwork.forward", _seed_forward, _seed_forward_call,
          {("x",): Arr(kind="torch", mix=False, nan="propagate")}, f32=False),
    Entry("custom_batchnorm.CustomBatchNormManualFunction", _custom, _function,
          {("input",): Arr(kind="torch"), ("gamma",): Arr(kind="torch", empty="skip"),
           ("beta",): Arr(kind="torch", empty="skip"), ("eps",): EPS}, INPUT_BAD[:1], growth=8),
    Entry("custom_batchnorm.CustomBatchNormManualFunction.forward", _custom, _function,
          {("input",): Arr(kind="torch"), ("gamma",): Arr(kind="torch", empty="skip"),
           ("beta",): Arr(kind="torch", empty="skip"), ("eps",): EPS}, INPUT_BAD[:1], growth=8),
    Entry("custom_batchnorm.CustomBatchNormManualFunction.backward", _custom, _function_backward,
          {("grad_output",): Arr(kind="torch", mix=False)}, growth=16, f32=False),
    Entry("custom_batchnorm.CustomBatchNormAutograd", _custom,
          _module(C.CustomBatchNormAutograd), MODULE_ARGS, INPUT_BAD, growth=8),
    Entry("custom_batchnorm.CustomBatchNormAutograd.forward", _custom,
          _module(C.CustomBatchNormAutograd), MODULE_ARGS, INPUT_BAD, growth=8),
    Entry("custom_batchnorm.CustomBatchNormManualModule", _custom,
          _module(C.CustomBatchNormManualModule), MODULE_ARGS, INPUT_BAD, growth=8),
    Entry("custom_batchnorm.CustomBatchNormManualModule.forward", _custom,
          _module(C.CustomBatchNormManualModule), MODULE_ARGS, INPUT_BAD, growth=8),
]
