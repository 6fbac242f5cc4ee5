"""Error-input entries of impl/receptive_field.py and impl/fully_conv.py."""

from __future__ import annotations

import torch
from hypothesis import strategies as st
from torch import nn

from impl import receptive_field as R
from impl.fully_conv import fully_convolutional
from tests.error_inputs import TYPE, VALUE, Bad, Entry, Num


def _stack(data):
    depth = data.draw(st.integers(1, 3), label="depth")
    layers = [{"kernel": data.draw(st.integers(1, 3)), "stride": data.draw(st.integers(1, 2)),
               "padding": data.draw(st.integers(0, 1)), "dilation": data.draw(st.integers(1, 2)),
               "padding_mode": data.draw(st.sampled_from(R.PADDING_MODES))}
              for _ in range(depth)]
    n = 1
    for d in reversed(layers):
        n = max((n - 1) * d["stride"] + d["dilation"] * (d["kernel"] - 1) + 1 - 2 * d["padding"],
                d["padding"] + 1, 1)
    size = n + data.draw(st.integers(0, 3))
    return {"layers": layers, "input_size": (size, size), "index": (0, 0)}


LAYERS_BAD = [
    Bad("layers: a misspelt key", ("layers",), lambda v, s: [{**v[0], "strides": 2}], VALUE,
        "layers"),
    Bad("layers: no kernel", ("layers",), lambda v, s: [{"stride": 1}], VALUE, "layers"),
    Bad("layers: stride 0", ("layers",), lambda v, s: [{**v[0], "stride": 0}], VALUE, "layers"),
    Bad("layers: a float kernel", ("layers",), lambda v, s: [{**v[0], "kernel": 2.5}], TYPE,
        "layers"),
    Bad("layers: padding_mode 'wrap'", ("layers",), lambda v, s: [{**v[0], "padding_mode": "wrap"}],
        VALUE, "layers"),
    Bad("layers: a str", ("layers",), lambda v, s: "conv", VALUE, "layers"),
    Bad("layers: a Linear", ("layers",), lambda v, s: nn.Sequential(nn.Linear(2, 2)), VALUE,
        "layers"),
    Bad("input_size: 0", ("input_size",), lambda v, s: (0, 4), VALUE, "input_size"),
    Bad("input_size: None", ("input_size",), lambda v, s: None, TYPE, "input_size"),
    Bad("layers: a kernel larger than the input", ("layers",),
        lambda v, s: [{**v[0], "kernel": 99}], VALUE, "layers"),
]
INDEX_BAD = [
    Bad("index: outside", ("index",), lambda v, s: (10**6, 0), VALUE, "index"),
    Bad("index: negative", ("index",), lambda v, s: (0, -1), VALUE, "index"),
    Bad("index: None", ("index",), lambda v, s: None, TYPE, "index"),
    Bad("index: floats", ("index",), lambda v, s: (0.0, 0.0), TYPE, "index"),
]


def _layer(data):
    return {"kernel": data.draw(st.integers(1, 3)), "stride": data.draw(st.integers(1, 2)),
            "padding": data.draw(st.integers(0, 1)), "dilation": data.draw(st.integers(1, 2))}


def _fc(data):
    c, k = data.draw(st.integers(1, 2), label="C"), data.draw(st.integers(1, 3), label="k")
    h = k + data.draw(st.integers(0, 2), label="extra")
    hidden = data.draw(st.integers(1, 3), label="hidden")
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))
    net = nn.Sequential(nn.Conv2d(c, 2, k), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(2 * (h - k + 1) ** 2, hidden), nn.LogSoftmax(dim=1))
    probe = torch.rand(1, c, h, h)
    return {"network": net, "input_size": (c, h, h), "probe": probe}


def _fc_call(a):
    with torch.no_grad():
        return fully_convolutional(a["network"], a["input_size"])(a["probe"])


FC_BAD = [
    Bad("network: a Linear", ("network",), lambda v, s: nn.Linear(2, 2), TYPE, "network"),
    Bad("network: no Flatten", ("network",), lambda v, s: nn.Sequential(v[0]), VALUE, "Flatten"),
    Bad("network: a LayerNorm head", ("network",), lambda v, s: nn.Sequential(
        *v, nn.LayerNorm(v[4].out_features)), VALUE, "LayerNorm"),
    Bad("input_size: None", ("input_size",), lambda v, s: None, TYPE, "input_size"),
    Bad("input_size: two entries", ("input_size",), lambda v, s: v[1:], VALUE, "input_size"),
    Bad("input_size: a zero", ("input_size",), lambda v, s: (v[0], 0, v[2]), VALUE, "input_size"),
    Bad("input_size: too small", ("input_size",), lambda v, s: (v[0], 1, 1) if
        v[1] > 1 else (v[0] + 1, *v[1:]), VALUE, "input_size"),
]

ENTRIES = [
    Entry("receptive_field.layers_from", _stack, lambda a: R.layers_from(a["layers"]), {},
          LAYERS_BAD[:7], kinds=False),
    Entry("receptive_field.output_size", _stack,
          lambda a: R.output_size(a["layers"], a["input_size"]), {}, LAYERS_BAD, kinds=False),
    Entry("receptive_field.input_support", _stack,
          lambda a: R.input_support(a["layers"], a["input_size"], a["index"]), {},
          LAYERS_BAD + INDEX_BAD, kinds=False),
    Entry("receptive_field.input_region", _stack,
          lambda a: R.input_region(a["layers"], a["input_size"], a["index"]), {},
          LAYERS_BAD + INDEX_BAD, kinds=False),
    Entry("receptive_field.Layer", _layer,
          lambda a: R.Layer(a["kernel"], a["stride"], a["padding"], a["dilation"]),
          {("kernel",): Num(low=1, integer=True, list_error=VALUE),
           ("stride",): Num(low=1, integer=True, list_error=VALUE),
           ("padding",): Num(low=0, integer=True, list_error=VALUE),
           ("dilation",): Num(low=1, integer=True, list_error=VALUE)}, kinds=False),
    Entry("receptive_field.PADDING_MODES", _layer, lambda a: None,
          record="the tuple of torch's padding modes the fields honour; immutable"),
    Entry("fully_conv.fully_convolutional", _fc, _fc_call, {}, FC_BAD, f32=False, kinds=False),
]
