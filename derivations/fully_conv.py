r"""Fully convolutional networks: linear layers as convolutions, in sympy.

Source: ``001_d80f36ddf3b5193b.txt`` Problem 5 (Net1 → Net2, "larger network in network").

A linear layer applied to the flattened C×h×w feature map (flattened channel-major, as
``torch.flatten`` does) is a convolution whose kernel covers the whole map, with the weights
reshaped: :math:`K[o, c, a, e] = W[o, c h w + a w + e]`. On a larger map the same convolution
slides, and every later linear layer acts on the channel vector at each position, i.e. is a
1×1 convolution. Hence Net2's output at (i, j) is Net1 applied to the training-size patch at
(S i, S j), S the product of the strides before the classifier.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_001 = "001_d80f36ddf3b5193b.txt"

_o, _c, _a, _e, _h, _w = sp.symbols("o c a e h w", integer=True)
_C = sp.Symbol("C", integer=True, positive=True)
_sums = ((_c, 0, _C - 1), (_a, 0, _h - 1), (_e, 0, _w - 1))
_W, _K, _X = sp.IndexedBase("W"), sp.IndexedBase("K"), sp.IndexedBase("X")

LINEAR_AS_CONV = claim(
    "fully_conv.linear_as_conv",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_001} Problem 5",
    statement="A linear layer on the flattened C×h×w map equals an h×w convolution with "
    "K[o,c,a,e] = W[o, c h w + a w + e]; a later linear layer equals a 1×1 convolution.",
    formula=lambda: sp.Eq(
        sp.Sum(_W[_o, _c * _h * _w + _a * _w + _e] * _X[_c, _a, _e], *_sums),
        sp.Sum(_K[_o, _c, _a, _e] * _X[_c, _a, _e], *_sums),
    ),
)
EQUIVALENCE = claim(
    "fully_conv.equivalence",
    witnesses=("implementation",),
    source=f"{SEED_001} Problem 5 (a)–(c)",
    statement="With the linear layers converted, Net2(x)[:, :, i, j] = Net1(x[:, :, S i : "
    "S i + h₀, S j : S j + w₀]) (S the product of the strides, h₀×w₀ the training size), "
    "to within 1e-12 in float64.",
    formula=lambda: sp.Eq(
        sp.Function("Net_2")(sp.Symbol("X"), sp.Symbol("i"), sp.Symbol("j")),
        sp.Function("Net_1")(sp.Symbol(r"X[S i : S i + h_0,\ S j : S j + w_0]")),
    ),
)


@cache
def linear_vs_conv(c: int, h: int, w: int, out: int) -> tuple[sp.ImmutableMatrix,
                                                               sp.ImmutableMatrix]:
    """(W · flatten(X), the h×w convolution of X with W reshaped to (out, c, h, w), at its one
    output position), both from their definitions."""
    xs = sp.symbols(f"x0:{c * h * w}", real=True)
    ws = sp.symbols(f"w0:{out * c * h * w}", real=True)
    W = sp.ImmutableMatrix(out, c * h * w, ws)
    X = sp.Array(xs, (c, h, w))
    flat = sp.ImmutableMatrix([X[ci, a, e] for ci in range(c) for a in range(h)
                               for e in range(w)])
    K = sp.Array(ws, (out, c, h, w))  # the reshape, C-order
    conv = sp.ImmutableMatrix([
        sum(K[o, ci, a, e] * X[ci, a, e] for ci in range(c) for a in range(h) for e in range(w))
        for o in range(out)
    ])
    return W * flat, conv
