"""Receptive fields: which input positions can influence one output position of a stack of
convolution and pooling layers.

Source: ``000_44446893528eed8a.txt`` Problem 4 (statement in ``PROBLEMS.md``).

The layers are described either as a list (each entry a :class:`Layer`, a tuple
``(kernel, stride, padding)``, or a dict with those keys; kernel/stride/padding each an int or
an (h, w) pair) or as a ``torch.nn.Sequential`` of ``Conv2d``/``MaxPool2d``/``AvgPool2d``
layers with element-wise layers (activations, batch norm, dropout) in between, which do not
move the field. Channels never matter: every output channel reads every input channel.

Along each axis the field is propagated exactly, layer by layer, as a set of rows (a boolean
mask): output row i of a layer reads input rows s·i − p … s·i − p + k − 1 that lie inside its
input. A 2-D field is the product of the row field and the column field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

__all__ = ["Layer", "input_region", "input_support", "layers_from", "output_size"]

_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Identity,
                nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Softplus, nn.SiLU)


def _pair(name: str, v: Any, minimum: int) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, int) else tuple(v)
    if len(pair) != 2 or not all(isinstance(t, int) for t in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    if any(t < minimum for t in pair):
        raise ValueError(f"{name} must be ≥ {minimum}, got {v!r}")
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class Layer:
    """One conv or pool layer: (h, w) kernel, stride and padding."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    @classmethod
    def of(cls, kernel: Any, stride: Any = 1, padding: Any = 0, where: str = "layer"):
        return cls(_pair(f"{where} kernel", kernel, 1), _pair(f"{where} stride", stride, 1),
                   _pair(f"{where} padding", padding, 0))


def _from_module(m: nn.Module, where: str) -> list[Layer]:
    if isinstance(m, nn.Sequential):
        return [layer for k, sub in enumerate(m) for layer in _from_module(sub, f"{where}[{k}]")]
    if isinstance(m, nn.Conv2d):
        if isinstance(m.padding, str):
            raise ValueError(f"{where}: padding={m.padding!r} is not supported; give integers")
        if tuple(m.dilation) != (1, 1):
            raise ValueError(f"{where}: dilation {m.dilation} is not supported (only 1)")
        return [Layer.of(tuple(m.kernel_size), tuple(m.stride), tuple(m.padding), where)]
    if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
        if m.ceil_mode:
            raise ValueError(f"{where}: ceil_mode=True is not supported")
        if isinstance(m, nn.MaxPool2d) and m.dilation not in (1, (1, 1)):
            raise ValueError(f"{where}: dilation {m.dilation} is not supported (only 1)")
        stride = m.stride if m.stride is not None else m.kernel_size
        return [Layer.of(m.kernel_size, stride, m.padding, where)]
    if isinstance(m, _ELEMENTWISE):
        return []
    raise ValueError(f"layers: {where} is a {type(m).__name__}, not a Conv2d, MaxPool2d, "
                     f"AvgPool2d or an element-wise layer")


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
            out.append(Layer.of(d.kernel, d.stride, d.padding, where))
        elif isinstance(d, dict):
            out.append(Layer.of(d["kernel"], d.get("stride", 1), d.get("padding", 0), where))
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
            if kk > n + 2 * p:
                raise ValueError(f"layers[{k}]: kernel {kk} is larger than its padded input "
                                 f"{n} + 2·{p} along axis {ax}")
            size.append((n + 2 * p - kk) // s + 1)
        sizes.append((size[0], size[1]))
    return sizes


def output_size(layers: Any, input_size: Any) -> tuple[int, int]:
    """The (H, W) of the output of the stack for an input of ``input_size``."""
    return _sizes(layers_from(layers), input_size)[-1]


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
            k, s, p = layers[ell].kernel[ax], layers[ell].stride[ax], layers[ell].padding[ax]
            below = np.zeros(sizes[ell][ax], dtype=bool)
            for out in np.flatnonzero(mask):
                lo, hi = max(s * out - p, 0), min(s * out - p + k - 1, sizes[ell][ax] - 1)
                if lo <= hi:  # a window inside the padding reads nothing
                    below[lo:hi + 1] = True
            mask = below
        masks.append(mask)
    return masks[0], masks[1]


def input_region(layers: Any, input_size: Any, index: Any
                 ) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The inclusive ((first row, last row), (first column, last column)) of the input
    positions (all channels) that influence output position ``index`` = (i, j).

    The smallest such box; every position in it influences the output when each layer has
    stride ≤ kernel and padding < kernel. ``None`` when the output reads padding only.
    """
    rows, cols = input_support(layers, input_size, index)
    if not rows.any() or not cols.any():
        return None
    r, c = np.flatnonzero(rows), np.flatnonzero(cols)
    return (int(r[0]), int(r[-1])), (int(c[0]), int(c[-1]))

