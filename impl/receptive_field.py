"""Receptive fields: which input positions can influence one output position of a stack of
convolution and pooling layers.

Source: ``000_44446893528eed8a.txt`` Problem 4 (the course's problem statement).

The layers are described either as a list (each entry a :class:`Layer`, a tuple
``(kernel, stride, padding)``, or a dict with the keys ``kernel`` (required), ``stride``,
``padding``, ``dilation`` and ``padding_mode``; kernel/stride/padding/dilation each an int or an
(h, w) pair; any other key is refused, so a misspelt ``strides`` is never ignored) or as a
``torch.nn.Sequential`` of ``Conv2d``/``MaxPool2d``/``AvgPool2d`` layers with element-wise
layers (activations, batch norm, dropout) in between, which do not move the field. Channels
never matter: every output channel reads every input channel.

Along each axis the field is propagated exactly, layer by layer, as a set of rows (a boolean
mask): output row i of a layer reads the padded positions s·i + d·a (a = 0 … k − 1), that is
input row q = s·i − p + d·a, mapped as torch's ``padding_mode`` maps it: ``"zeros"`` reads
nothing outside the input (the field is clipped), ``"circular"`` reads q mod n (the field
wraps around), ``"reflect"`` reads −q or 2(n − 1) − q, ``"replicate"`` reads the nearest edge
row. A 2-D field is the product of the row field and the column field.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

__all__ = ["PADDING_MODES", "Layer", "input_region", "input_support", "layers_from",
           "output_size"]

_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Identity,
                nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Softplus, nn.SiLU)

PADDING_MODES = ("zeros", "circular", "reflect", "replicate")
_KEYS = ("kernel", "stride", "padding", "dilation", "padding_mode")


def _pair(name: str, v: Any, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints ≥ minimum (numpy integers too): another kind is a TypeError,
    another length or a smaller value a ValueError."""
    ints = (int, np.integer)
    if isinstance(v, bool | np.bool_) or not isinstance(v, (*ints, tuple, list)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    pair = (v, v) if isinstance(v, ints) else tuple(v)
    if not all(isinstance(t, ints) and not isinstance(t, bool | np.bool_) for t in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    pair = (int(pair[0]), int(pair[1]))
    if any(t < minimum for t in pair):
        raise ValueError(f"{name} must be ≥ {minimum}, got {v!r}")
    return pair  # type: ignore[return-value]


def _mode(name: str, mode: Any) -> str:
    if mode not in PADDING_MODES:
        raise ValueError(f"{name} must be one of {PADDING_MODES}, got {mode!r}")
    return mode


@dataclass(frozen=True)
class Layer:
    """One conv or pool layer: (h, w) kernel, stride, padding and dilation, and torch's
    ``padding_mode`` (pools pad with values that are never selected: ``"zeros"``)."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    padding_mode: str = "zeros"

    def __post_init__(self) -> None:
        for name, minimum in (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            object.__setattr__(self, name, _pair(f"Layer {name}", getattr(self, name), minimum))
        _mode("Layer padding_mode", self.padding_mode)

    @classmethod
    def of(cls, kernel: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           padding_mode: str = "zeros", where: str = "layer"):
        return cls(_pair(f"{where} kernel", kernel, 1), _pair(f"{where} stride", stride, 1),
                   _pair(f"{where} padding", padding, 0), _pair(f"{where} dilation", dilation, 1),
                   _mode(f"{where} padding_mode", padding_mode))


def _from_module(m: nn.Module, where: str) -> list[Layer]:
    if isinstance(m, nn.Sequential):
        return [layer for k, sub in enumerate(m) for layer in _from_module(sub, f"{where}[{k}]")]
    if isinstance(m, nn.Conv2d):
        if isinstance(m.padding, str):
            raise ValueError(f"{where}: padding={m.padding!r} is not supported; give integers")
        return [Layer.of(tuple(m.kernel_size), tuple(m.stride), tuple(m.padding),
                         tuple(m.dilation), m.padding_mode, where)]
    if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
        if m.ceil_mode:
            raise ValueError(f"{where}: ceil_mode=True is not supported")
        stride = m.stride if m.stride is not None else m.kernel_size
        dilation = m.dilation if isinstance(m, nn.MaxPool2d) else 1
        return [Layer.of(m.kernel_size, stride, m.padding, dilation, "zeros", where)]
    if isinstance(m, _ELEMENTWISE):
        return []
    raise ValueError(f"layers: {where} is a {type(m).__name__}, not a Conv2d, MaxPool2d, "
                     f"AvgPool2d or an element-wise layer")


def _from_dict(d: dict, where: str) -> Layer:
    unknown = [k for k in d if k not in _KEYS]
    if unknown:
        hints = {k: difflib.get_close_matches(str(k), _KEYS, n=1) for k in unknown}
        said = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
                         for k, h in hints.items())
        raise ValueError(f"{where} has unknown key(s) {said}; the keys are {_KEYS}")
    if "kernel" not in d:
        raise ValueError(f"{where} must have the key 'kernel' (keys: {_KEYS}), got {d!r}")
    return Layer.of(d["kernel"], d.get("stride", 1), d.get("padding", 0), d.get("dilation", 1),
                    d.get("padding_mode", "zeros"), where)


def layers_from(layers: Any) -> list[Layer]:
    """Normalise a layer description (list or ``nn.Sequential``) to a list of :class:`Layer`."""
    if isinstance(layers, nn.Module):
        return _from_module(layers, "layers")
    if not isinstance(layers, Sequence) or isinstance(layers, str):
        raise ValueError(f"layers must be a list of layer descriptions or an nn.Sequential, "
                         f"got {type(layers).__name__}")
    out = []
    for k, d in enumerate(layers):
        where = f"layers[{k}]"
        if isinstance(d, Layer):
            out.append(Layer.of(d.kernel, d.stride, d.padding, d.dilation, d.padding_mode,
                                where))
        elif isinstance(d, dict):
            out.append(_from_dict(d, where))
        elif isinstance(d, tuple | list) and 1 <= len(d) <= 3:
            out.append(Layer.of(*d, where=where))
        else:
            raise ValueError(f"{where} must be a Layer, a dict or a (kernel, stride, padding) "
                             f"tuple, got {d!r}")
    return out


def _sizes(layers: list[Layer], input_size: Any) -> list[tuple[int, int]]:
    sizes = [_pair("input_size", input_size, 1)]
    for k, layer in enumerate(layers):
        size = []
        for ax in range(2):
            n, kk, s, p = sizes[-1][ax], layer.kernel[ax], layer.stride[ax], layer.padding[ax]
            span = layer.dilation[ax] * (kk - 1) + 1
            if span > n + 2 * p:
                raise ValueError(f"layers[{k}]: kernel {kk} (dilated span {span}) is larger "
                                 f"than its padded input {n} + 2·{p} along axis {ax}")
            # torch's own limits on the padding of a wrapped or mirrored input
            if layer.padding_mode == "circular" and p > n:
                raise ValueError(f"layers[{k}]: circular padding {p} exceeds its input {n} "
                                 f"along axis {ax}")
            if layer.padding_mode == "reflect" and p >= n:
                raise ValueError(f"layers[{k}]: reflect padding {p} must be less than its "
                                 f"input {n} along axis {ax}")
            size.append((n + 2 * p - span) // s + 1)
        sizes.append((size[0], size[1]))
    return sizes


def output_size(layers: Any, input_size: Any) -> tuple[int, int]:
    """The (H, W) of the output of the stack for an input of ``input_size``."""
    return _sizes(layers_from(layers), input_size)[-1]


def _source_row(q: int, n: int, mode: str) -> int | None:
    """The input row that padded position q (in input coordinates) reads, or None (a zero)."""
    if 0 <= q < n:
        return q
    if mode == "zeros":
        return None
    if mode == "circular":
        return q % n
    if mode == "replicate":
        return min(max(q, 0), n - 1)
    return -q if q < 0 else 2 * (n - 1) - q  # reflect (the edge row is not repeated)


def input_support(layers: Any, input_size: Any, index: Any) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns): boolean masks of the input rows and columns that influence output
    position ``index`` = (i, j); the influencing positions are their product."""
    layers = layers_from(layers)
    sizes = _sizes(layers, input_size)
    i, j = _pair("index", index, 0)
    if i >= sizes[-1][0] or j >= sizes[-1][1]:
        raise ValueError(f"index {index!r} is outside the output of size {sizes[-1]}")
    masks = []
    for ax, pos in ((0, i), (1, j)):
        mask = np.zeros(sizes[-1][ax], dtype=bool)
        mask[pos] = True
        for ell in reversed(range(len(layers))):
            layer, n = layers[ell], sizes[ell][ax]
            k, s, p, d = (layer.kernel[ax], layer.stride[ax], layer.padding[ax],
                          layer.dilation[ax])
            below = np.zeros(n, dtype=bool)
            for out in np.flatnonzero(mask):
                for a in range(k):
                    q = _source_row(s * out - p + d * a, n, layer.padding_mode)
                    if q is not None:  # a tap on zero padding reads nothing
                        below[q] = True
            mask = below
        masks.append(mask)
    return masks[0], masks[1]


def input_region(layers: Any, input_size: Any, index: Any
                 ) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The inclusive ((first row, last row), (first column, last column)) of the input
    positions (all channels) that influence output position ``index`` = (i, j).

    The smallest such box; every position in it influences the output when each layer has
    stride ≤ kernel, dilation 1, zero padding and padding < kernel (with circular padding the
    field may wrap around and the box then spans the gap). ``None`` when the output reads
    zero padding only.
    """
    rows, cols = input_support(layers, input_size, index)
    if not rows.any() or not cols.any():
        return None
    r, c = np.flatnonzero(rows), np.flatnonzero(cols)
    return (int(r[0]), int(r[-1])), (int(c[0]), int(c[-1]))
