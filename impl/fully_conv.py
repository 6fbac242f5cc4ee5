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
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["fully_convolutional"]


def _flat_modules(net: nn.Module) -> list[nn.Module]:
    if isinstance(net, nn.Sequential):
        return [m for sub in net for m in _flat_modules(sub)]
    return [net]


def fully_convolutional(network: nn.Sequential, input_size: Sequence[int]) -> nn.Sequential:
    """The fully convolutional twin of ``network`` trained on (C, H, W) = ``input_size``."""
    if not isinstance(network, nn.Sequential):
        raise ValueError(f"network must be an nn.Sequential, got {type(network).__name__}")
    if len(input_size) != 3 or not all(isinstance(n, int) and n > 0 for n in input_size):
        raise ValueError(f"input_size must be (C, H, W) of positive ints, got {input_size!r}")
    mods = _flat_modules(network)
    flats = [k for k, m in enumerate(mods) if isinstance(m, nn.Flatten)]
    if len(flats) != 1:
        raise ValueError(f"network must contain exactly one nn.Flatten, found {len(flats)}")
    features, classifier = mods[: flats[0]], mods[flats[0] + 1:]
    if any(isinstance(m, nn.Linear) for m in features):
        raise ValueError("network: a Linear layer before the Flatten cannot be converted")
    if any(isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d) for m in classifier):
        raise ValueError("network: a convolution or pooling layer after the Flatten")
    param = next(network.parameters(), None)
    probe = torch.zeros((1, *input_size), dtype=param.dtype if param is not None else None)
    with torch.no_grad():
        try:
            fmap = nn.Sequential(*features)(probe).shape[1:]
        except RuntimeError as err:
            raise ValueError(f"input_size {tuple(input_size)} does not fit the convolutions: "
                             f"{err}") from err
    c, h, w = fmap
    out: list[nn.Module] = [copy.deepcopy(m) for m in features]
    first = True
    for k, m in enumerate(classifier):
        if not isinstance(m, nn.Linear):
            out.append(copy.deepcopy(m))
            continue
        kernel = (h, w) if first else (1, 1)
        expected = c * h * w if first else c
        if m.in_features != expected:
            what = f"the flattened feature map {c}×{h}×{w}" if first else f"{c} features"
            raise ValueError(f"network: Linear layer {k} after the Flatten takes "
                             f"{m.in_features} inputs but receives {what}")
        conv = nn.Conv2d(m.in_features // (h * w if first else 1), m.out_features, kernel,
                         bias=m.bias is not None, dtype=m.weight.dtype,
                         device=m.weight.device)
        with torch.no_grad():
            conv.weight.copy_(m.weight.reshape(conv.weight.shape))
            if m.bias is not None:
                conv.bias.copy_(m.bias)
        out.append(conv)
        c, first = m.out_features, False
    return nn.Sequential(*out)
