"""Error-input entries of impl/softmax.py."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from impl import softmax as K
from tests.error_inputs import VALUE, Arr, Bad, Entry, Num, as_kind, draw_array


def batch(data, *, kind=None, lo=-2.0, hi=2.0):
    n, c = data.draw(st.integers(1, 4), label="N"), data.draw(st.integers(1, 4), label="C")
    kind = kind or data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    return as_kind(draw_array(data, (n, c), lo=lo, hi=hi), kind)


def pair(data):
    x = batch(data)
    other = draw_array(data, tuple(x.shape))
    return x, (torch.from_numpy(other) if isinstance(x, torch.Tensor) else other)


def one_hot(x):
    n, c = x.shape
    t = np.eye(c)[np.arange(n) % c]
    return torch.from_numpy(t) if isinstance(x, torch.Tensor) else t


def _x(data):
    return {"x": batch(data)}


def _s_g(data):
    x, g = pair(data)
    return {"s": K.softmax(x), "grad_s": g}


def _log_s_g(data):
    x, g = pair(data)
    return {"log_s": K.log_softmax(x), "grad": g}


def _x_t(data):
    x = batch(data)
    return {"x": x, "target": one_hot(x)}


def _x_beta(data):
    return {"x": batch(data), "beta": data.draw(st.floats(0.1, 10), label="beta")}


X = {("x",): Arr()}
BETA = {("beta",): Num(low=0, low_open=True)}
TARGET_BAD = [Bad("target: a row that is no distribution", ("target",),
                  lambda v, s: v * 2, VALUE, "target"),
              Bad("target: labels out of range", ("target",),
                  lambda v, s: (torch.full((v.shape[0],), v.shape[1]) if isinstance(
                      v, torch.Tensor) else np.full(v.shape[0], v.shape[1])), VALUE, "target")]

ENTRIES = [
    Entry("softmax.log_sum_exp", _x, lambda a: K.log_sum_exp(a["x"]), X),
    Entry("softmax.softmax", _x, lambda a: K.softmax(a["x"]), X),
    Entry("softmax.softmax_jacobian", _x, lambda a: K.softmax_jacobian(a["x"]), X),
    Entry("softmax.log_softmax", _x, lambda a: K.log_softmax(a["x"]), X),
    Entry("softmax.softmax_backward", _s_g, lambda a: K.softmax_backward(a["s"], a["grad_s"]),
          {("s",): Arr(), ("grad_s",): Arr()}, growth=4),
    Entry("softmax.log_softmax_backward", _log_s_g,
          lambda a: K.log_softmax_backward(a["log_s"], a["grad"]),
          {("log_s",): Arr(), ("grad",): Arr()}, growth=4),
    Entry("softmax.cross_entropy", _x_t, lambda a: K.cross_entropy(a["x"], a["target"]),
          {("x",): Arr(), ("target",): Arr(int_error=VALUE)}, TARGET_BAD, growth=4),
    Entry("softmax.cross_entropy_backward", _x_t,
          lambda a: K.cross_entropy_backward(a["x"], a["target"]),
          {("x",): Arr(), ("target",): Arr(int_error=VALUE)}, TARGET_BAD, growth=4),
    Entry("softmax.true_softmax", _x_beta, lambda a: K.true_softmax(a["x"], a["beta"]),
          {**X, **BETA}, growth=4),
    Entry("softmax.true_softmax_gradient", _x_beta,
          lambda a: K.true_softmax_gradient(a["x"], a["beta"]), {**X, **BETA}, growth=4),
]
