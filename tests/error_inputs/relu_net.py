"""Error-input entries of impl/relu_net.py."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from impl import relu_net as K
from tests.error_inputs import TYPE, Arr, Bad, Entry, Num, as_kind, draw_array

S = Num(low=0)
POINTS = Arr(empty="ok", rank=False)  # elementwise: any shape, an empty one included
DTYPE = [Bad("dtype: int64", ("dtype",), lambda v, s: torch.int64, TYPE, "dtype"),
         Bad("dtype: a str", ("dtype",), lambda v, s: "float64", TYPE, "dtype")]


def _x(data):
    n = data.draw(st.integers(1, 5), label="N")
    kind = data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    return {"x": as_kind(draw_array(data, (n,)), kind)}


def _x_s(data):
    return {**_x(data), "s": data.draw(st.floats(0, 2), label="s")}


def _net(data):
    n = data.draw(st.integers(1, 5), label="N")
    return {"x": torch.from_numpy(draw_array(data, (n,))), "dtype": torch.float64,
            "s": data.draw(st.floats(0, 2), label="s")}


NET = {("x",): Arr(kind="torch", nan="propagate", mix=False, dtypes=True)}

ENTRIES = [
    Entry("relu_net.hat", _x, lambda a: K.hat(a["x"]), {("x",): POINTS}),
    Entry("relu_net.hat_derivative", _x, lambda a: K.hat_derivative(a["x"]), {("x",): POINTS},
          f32=False),  # a step function: rounding x to float32 may cross a breakpoint
    Entry("relu_net.soft_threshold", _x_s, lambda a: K.soft_threshold(a["x"], a["s"]),
          {("x",): POINTS, ("s",): S}),
    Entry("relu_net.soft_threshold_derivative", _x_s,
          lambda a: K.soft_threshold_derivative(a["x"], a["s"]), {("x",): POINTS, ("s",): S},
          f32=False),
    Entry("relu_net.hat_network", _net,
          lambda a: K.network_forward(K.hat_network(a["dtype"]), a["x"].to(a["dtype"])),
          {}, DTYPE),
    Entry("relu_net.soft_threshold_network", _net,
          lambda a: K.network_forward(K.soft_threshold_network(a["s"], a["dtype"]),
                                      a["x"].to(a["dtype"])), {("s",): S}, DTYPE),
    Entry("relu_net.network_forward", lambda d: {**_net(d), "net": K.hat_network()},
          lambda a: K.network_forward(a["net"], a["x"]), NET,
          [Bad("net: None", ("net",), lambda v, s: None, TYPE, "net")], f32=False),
]
