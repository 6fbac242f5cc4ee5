"""Convert a network of convolutions followed by linear layers into a fully convolutional
one (``001_d80f36ddf3b5193b.txt`` Problem 5: Net1 → Net2).

The network is an ``nn.Sequential``: convolution/pooling/element-wise layers, one
``nn.Flatten``, then linear and element-wise layers. The first linear layer becomes a
convolution whose kernel covers the last feature map (its weight reshaped, channel-major, the
order ``torch.flatten`` uses); every later linear layer becomes a 1×1 convolution with the same
weights. The converted network shares no storage with the original (weights are copied).
On the training size it computes the same function; on a larger image its output at (i, j)
is the original network applied to the patch at (S i, S j), S the product of the strides, when
the convolutions have no padding.

The conversion works on a deep copy in eval mode (the argument is never modified, not even the
running statistics of a batch norm) and returns the converted network in eval mode. After the
Flatten the class axis of (N, F) becomes the channel axis of (N, F, H', W'): a Softmax,
LogSoftmax or Softmin over the features (dim = 1 or −1) is rebuilt over dim 1, and a
BatchNorm1d (with running statistics) becomes the BatchNorm2d with the same statistics and
affine parameters. Any other layer after the Flatten that is not element-wise is refused when
converting, never left to fail (or answer wrongly) when the result is called.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["fully_convolutional"]


def _flat_modules(net: nn.Module) -> list[nn.Module]:
    if isinstance(net, nn.Sequential):
        return [m for sub in net for m in _flat_modules(sub)]
    return [net]


_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Identity,
                nn.Dropout, nn.Softplus, nn.SiLU, nn.Hardtanh, nn.ReLU6, nn.PReLU)
_OVER_FEATURES = (nn.Softmax, nn.LogSoftmax, nn.Softmin)


def _input_size(input_size: Any) -> tuple[int, int, int]:
    if not isinstance(input_size, tuple | list | torch.Size):
        raise TypeError(f"input_size must be a tuple (C, H, W) of positive ints, got "
                        f"{type(input_size).__name__}")
    if len(input_size) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                       for n in input_size):
        raise ValueError(f"input_size must be (C, H, W) of positive ints, got {input_size!r}")
    return tuple(input_size)  # type: ignore[return-value]


def _after_flatten(m: nn.Module, k: int) -> nn.Module:
    """A copy of a layer after the Flatten that acts on (N, F, H', W') as m acts on (N, F)."""
    if isinstance(m, _OVER_FEATURES):
        if m.dim not in (None, 1, -1):
            raise ValueError(f"network: {type(m).__name__} layer {k} after the Flatten acts over "
                             f"dim={m.dim}, not the feature axis (dim 1 or -1)")
        return type(m)(dim=1)
    if isinstance(m, nn.BatchNorm1d):
        if m.running_mean is None or m.running_var is None:
            raise ValueError(f"network: BatchNorm1d layer {k} after the Flatten has no running "
                             f"statistics (track_running_stats=False): in a fully "
                             f"convolutional network it would normalise over positions too")
        bn = nn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine,
                            m.track_running_stats, device=m.running_mean.device,
                            dtype=m.running_mean.dtype)
        bn.load_state_dict(m.state_dict())
        return bn
    if isinstance(m, _ELEMENTWISE):
        return copy.deepcopy(m)
    raise ValueError(f"network: layer {k} after the Flatten is a {type(m).__name__}, which "
                     f"cannot be converted (Linear, BatchNorm1d, Softmax/LogSoftmax/Softmin "
                     f"and element-wise layers can)")


def fully_convolutional(network: nn.Sequential, input_size: Sequence[int]) -> nn.Sequential:
    """The fully convolutional twin of ``network`` trained on (C, H, W) = ``input_size``, in
    eval mode; ``network`` itself is left untouched."""
    if not isinstance(network, nn.Sequential):
        raise TypeError(f"network must be an nn.Sequential, got {type(network).__name__}")
    input_size = _input_size(input_size)
    mods = _flat_modules(copy.deepcopy(network).eval())  # never run (or change) the argument
    flats = [k for k, m in enumerate(mods) if isinstance(m, nn.Flatten)]
    if len(flats) != 1:
        raise ValueError(f"network must contain exactly one nn.Flatten, found {len(flats)}")
    flat = mods[flats[0]]
    if flat.start_dim != 1 or flat.end_dim != -1:
        raise ValueError(f"network: the Flatten must flatten dims 1 … −1 (the features), got "
                         f"start_dim={flat.start_dim}, end_dim={flat.end_dim}")
    features, classifier = mods[: flats[0]], mods[flats[0] + 1:]
    if any(isinstance(m, nn.Linear) for m in features):
        raise ValueError("network: a Linear layer before the Flatten cannot be converted")
    if any(isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d) for m in classifier):
        raise ValueError("network: a convolution or pooling layer after the Flatten")
    param = next(network.parameters(), None)
    probe = torch.zeros((1, *input_size), dtype=param.dtype if param is not None else None,
                        device=param.device if param is not None else None)
    with torch.no_grad():
        try:
            fmap = nn.Sequential(*features)(probe).shape[1:]
        except RuntimeError as err:
            raise ValueError(f"input_size {tuple(input_size)} does not fit the convolutions: "
                             f"{err}") from err
    if len(fmap) != 3:
        raise ValueError(f"network: the layers before the Flatten must give a (C, H, W) map for "
                         f"input_size {tuple(input_size)}, got shape {tuple(fmap)}")
    c, h, w = fmap
    out: list[nn.Module] = list(features)
    first = True
    for k, m in enumerate(classifier):
        if not isinstance(m, nn.Linear):
            if isinstance(m, nn.BatchNorm1d) and m.num_features != (c * h * w if first else c):
                raise ValueError(f"network: BatchNorm1d layer {k} after the Flatten has "
                                 f"{m.num_features} features but receives "
                                 f"{c * h * w if first else c}")
            if first and isinstance(m, (nn.BatchNorm1d, *_OVER_FEATURES)) and h * w > 1:
                raise ValueError(f"network: {type(m).__name__} layer {k} acts on the flattened "
                                 f"map before any Linear layer; only a 1×1 map can be kept "
                                 f"as channels")
            out.append(_after_flatten(m, k))
            continue
        kernel = (h, w) if first else (1, 1)
        expected = c * h * w if first else c
        if m.in_features != expected:
            what = f"the flattened feature map {c}×{h}×{w}" if first else f"{c} features"
            raise ValueError(f"network: Linear layer {k} after the Flatten takes "
                             f"{m.in_features} inputs but receives {what} (for input_size "
                             f"{tuple(input_size)})")
        conv = nn.Conv2d(m.in_features // (h * w if first else 1), m.out_features, kernel,
                         bias=m.bias is not None, dtype=m.weight.dtype,
                         device=m.weight.device)
        with torch.no_grad():
            conv.weight.copy_(m.weight.reshape(conv.weight.shape))
            if m.bias is not None:
                conv.bias.copy_(m.bias)
        out.append(conv)
        c, first = m.out_features, False
    return nn.Sequential(*out).eval()
