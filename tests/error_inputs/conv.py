"""Error-input entries of impl/conv.py."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from impl import conv as K
from tests.error_inputs import TYPE, VALUE, Arr, Bad, Entry, Num, draw_array

T = Arr(kind="torch", nan="propagate")  # linear maps: NaN propagates (the module docstring)


def t(data, shape, label=""):
    return torch.from_numpy(draw_array(data, shape, label=label))


def _geometry(data):
    n, ci, co = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)),
                 data.draw(st.integers(1, 2)))
    k = data.draw(st.integers(1, 3), label="k")
    # p < k: some output reads the input, so NaN in the input can reach the output
    s, p, d = (data.draw(st.integers(1, 2), label="s"),
               data.draw(st.integers(0, min(1, k - 1)), label="p"),
               data.draw(st.integers(1, 2), label="d"))
    hw = d * (k - 1) + 1 + data.draw(st.integers(0, 3), label="extra")
    ho = (hw + 2 * p - d * (k - 1) - 1) // s + 1
    return {"input": t(data, (n, ci, hw, hw), "input"), "weight": t(data, (co, ci, k, k)),
            "bias": t(data, (co,)), "grad_output": t(data, (n, co, ho, ho)),
            "stride": s, "padding": p, "dilation": d}


# stride/padding/dilation: an int or a pair of ints; [v] is a pair of the wrong length
HYPER = {("stride",): Num(low=1, integer=True, list_error=VALUE),
         ("padding",): Num(low=0, integer=True, list_error=VALUE),
         ("dilation",): Num(low=1, integer=True, list_error=VALUE)}


def _conv(a):
    return K.conv2d(a["input"], a["weight"], a["bias"], a["stride"], a["padding"], a["dilation"])


def _in_grad(a):
    return K.conv2d_input_grad(tuple(a["input"].shape), a["weight"], a["grad_output"],
                               a["stride"], a["padding"], a["dilation"])


def _in_grad_shape(a):
    return K.conv2d_input_grad(a["input_shape"], a["weight"], a["grad_output"], a["stride"],
                               a["padding"], a["dilation"])


def _w_grad(a):
    return K.conv2d_weight_grad(a["input"], a["weight_shape"], a["grad_output"], a["stride"],
                                a["padding"], a["dilation"])


def _with_shapes(data):
    g = _geometry(data)
    return {**g, "input_shape": tuple(g["input"].shape), "weight_shape": tuple(g["weight"].shape)}


SHAPE_BAD = [
    Bad("input_shape: None", ("input_shape",), lambda v, s: None, TYPE, "input_shape"),
    Bad("input_shape: 3 entries", ("input_shape",), lambda v, s: v[1:], VALUE, "input_shape"),
    Bad("input_shape: a zero", ("input_shape",), lambda v, s: (0, *v[1:]), VALUE,
        "input_shape"),
]
WSHAPE_BAD = [
    Bad("weight_shape: None", ("weight_shape",), lambda v, s: None, TYPE, "weight_shape"),
    Bad("weight_shape: 3 entries", ("weight_shape",), lambda v, s: v[1:], VALUE,
        "weight_shape"),
    Bad("weight_shape: floats", ("weight_shape",), lambda v, s: tuple(map(float, v)), TYPE,
        "weight_shape"),
]
CHANNELS = [Bad("weight: channels ≠ input's", ("weight",),
                lambda v, s: torch.cat([v, v], dim=1), VALUE, "weight")]


def _one_d(data):
    n = data.draw(st.integers(1, 6), label="n")
    f = data.draw(st.integers(1, n), label="f")
    return {"y": t(data, (n,)), "w": t(data, (f,)), "n": n}


def _net1d(data):
    n = data.draw(st.integers(2, 6), label="n0")
    depth = data.draw(st.integers(1, 3), label="depth")
    ws, bs, m = [], [], n
    for _ in range(depth):
        f = data.draw(st.integers(1, m))
        ws.append(t(data, (f,)))
        bs.append(t(data, ()))
        m = m - f + 1
    return {"y0": t(data, (n,)), "weights": ws, "biases": bs, "u": t(data, (m,)),
            "activation": data.draw(st.sampled_from(sorted(K.ACTIVATIONS)))}


NET1D = {("y0",): T, ("weights", 0): T,
         ("biases", 0): Arr(kind="torch", nan="propagate", rank=False, empty="skip")}
NET_BAD = [Bad("activation: misspelt", ("activation",), lambda v, s: "Tanh", VALUE, "activation"),
           Bad("weights: one more than biases", ("weights",), lambda v, s: [*v, v[0]], VALUE,
               "weights"),
           Bad("biases: a float", ("biases",), lambda v, s: [1.0] * len(v), TYPE, "biases")]


def _net_backward(a):
    _, cache = K.conv1d_net_forward(a["y0"], a["weights"], a["biases"], a["activation"])
    return K.conv1d_net_backward(cache, a["u"])


def _output_size(data):
    g = _geometry(data)
    return {"input_hw": tuple(g["input"].shape[2:]), "kernel_hw": tuple(g["weight"].shape[2:]),
            "stride": g["stride"], "padding": g["padding"], "dilation": g["dilation"]}


def _pool(data):
    n, c = (data.draw(st.integers(1, 2), label=k) for k in ("N", "C"))
    k = data.draw(st.integers(1, 3), label="kernel")
    s = data.draw(st.integers(1, 3), label="stride")
    h, w = (data.draw(st.integers(k, k + 4), label=d) for d in ("H", "W"))
    x = torch.as_tensor(draw_array(data, (n, c, h, w)))
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    g = torch.as_tensor(draw_array(data, (n, c, oh, ow)))
    return {"x": x, "grad_output": g, "kernel": k, "stride": s}


POOL_HYPER = {("kernel",): Num(low=1, integer=True, list_error=VALUE),
              ("stride",): Num(low=1, integer=True, list_error=VALUE, optional=True)}


ENTRIES = [
    Entry("conv.conv2d", _geometry, _conv,
          {("input",): T, ("weight",): T, ("bias",): Arr(kind="torch", nan="propagate",
                                                       optional=True), **HYPER},
          CHANNELS, growth=16),
    Entry("conv.conv2d_input_grad", _with_shapes, _in_grad_shape,
          {("weight",): T, ("grad_output",): T, **HYPER}, SHAPE_BAD, growth=16),
    Entry("conv.conv2d_weight_grad", _with_shapes, _w_grad,
          {("input",): T, ("grad_output",): T, **HYPER}, WSHAPE_BAD, growth=16),
    Entry("conv.conv2d_bias_grad", _geometry, lambda a: K.conv2d_bias_grad(a["grad_output"]),
          {("grad_output",): T}, growth=16),
    Entry("conv.conv2d_backward", _geometry,
          lambda a: K.conv2d_backward(a["input"], a["weight"], a["grad_output"], a["stride"],
                                      a["padding"], a["dilation"]),
          {("input",): T, ("weight",): T, ("grad_output",): T, **HYPER}, CHANNELS, growth=16),
    Entry("conv.conv2d_output_size", _output_size,
          lambda a: K.conv2d_output_size(a["input_hw"], a["kernel_hw"], a["stride"],
                                         a["padding"], a["dilation"]),
          HYPER, [Bad("input_hw: None", ("input_hw",), lambda v, s: None, TYPE, "input_hw"),
                  Bad("kernel_hw: a zero", ("kernel_hw",), lambda v, s: (0, 1), VALUE,
                      "kernel_hw")]),
    Entry("conv.correlate1d", _one_d, lambda a: K.correlate1d(a["y"], a["w"]),
          {("y",): T, ("w",): T}, growth=4),
    Entry("conv.full_convolve1d", lambda d: {"v": _one_d(d)["y"], "w": _one_d(d)["w"]},
          lambda a: K.full_convolve1d(a["v"], a["w"]), {("v",): T, ("w",): T}, growth=4),
    Entry("conv.toeplitz", _one_d, lambda a: K.toeplitz(a["w"], a["n"]),
          {("w",): Arr(kind="torch", nan="propagate"), ("n",): Num(low=1, integer=True)}),
    Entry("conv.conv1d_net_forward", _net1d,
          lambda a: K.conv1d_net_forward(a["y0"], a["weights"], a["biases"],
                                         a["activation"])[0], NET1D, NET_BAD, growth=8),
    Entry("conv.conv1d_net_backward", _net1d, _net_backward,
          # ∂/∂w_ℓ of a linear last layer does not read w_ℓ: NaN in a weight need not reach it
          {("y0",): T, ("weights", 0): Arr(kind="torch", nan="skip"),
           ("biases", 0): Arr(kind="torch", nan="skip", rank=False, empty="skip"), ("u",): T},
          growth=16),
    Entry("conv.ACTIVATIONS", _one_d, lambda a: None,
          record="a dict of (σ, σ′) pairs by name; conv1d_net_forward refuses other names"),
    Entry("conv.ConvNet1dCache", _one_d, lambda a: None,
          record="a frozen dataclass made by conv1d_net_forward; conv1d_net_backward "
                 "refuses anything else as its cache"),
    # a maximum over a window holding NaN is NaN, as torch's max_pool2d gives (propagated)
    Entry("conv.max_pool2d", _pool, lambda a: K.max_pool2d(a["x"], a["kernel"], a["stride"]),
          {("x",): Arr(kind="torch", label="input", nan="propagate"), **POOL_HYPER}),
    Entry("conv.max_pool2d_backward", _pool,
          lambda a: K.max_pool2d_backward(a["x"], a["grad_output"], a["kernel"], a["stride"]),
          {("x",): Arr(kind="torch", label="input", nan="skip"), ("grad_output",): T,
           **POOL_HYPER},
          f32=False),  # rounding x to float32 can move a window's maximum: no float32 variant
]
