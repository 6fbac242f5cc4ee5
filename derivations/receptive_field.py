r"""Receptive fields of a stack of convolution and pooling layers, in sympy.

Source: ``000_44446893528eed8a.txt`` Problem 4 (the seed leaves it blank; the course's
problem statement gives it): the first layers of VGG16 on 1×3×224×224, and the input
positions that can influence y_p[k, i, j] for p = 1, 2, 3.

Along one axis a layer with kernel k, stride s, padding p reads rows s·i − p … s·i − p + k − 1
of its (unpadded) input for output row i. Walking back from output row i of layer L:

.. math::
    a_{\ell-1} = s_\ell a_\ell - p_\ell,\qquad b_{\ell-1} = s_\ell b_\ell - p_\ell + k_\ell - 1,

so :math:`a_0(i) = S i - P`, :math:`b_0(i) = S i - P + R - 1` with
:math:`S = \prod_\ell s_\ell`, :math:`P = \sum_\ell p_\ell \prod_{m<\ell} s_m`,
:math:`R = 1 + \sum_\ell (k_\ell - 1)\prod_{m<\ell} s_m`.

Clipping. The rows a layer never reads (when (n + 2p − k) is not a multiple of s, the last
rows of its input) and the padding of *intermediate* layers mean that clipping
:math:`[a_0(i), b_0(i)]` once, to the image, can overstate the field; clipping at every layer,
:math:`a_{\ell-1} = \max(0, s a_\ell - p)`, :math:`b_{\ell-1} = \min(n_{\ell-1} - 1,
s b_\ell - p + k - 1)`, is exact when every layer has s ≤ k and p < k (consecutive windows
overlap or touch, and every window meets the image). With s > k the set has gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_000 = "000_44446893528eed8a.txt"

i, j = sp.symbols("i j", integer=True, nonnegative=True)
_L, _l, _m = sp.symbols("L ell m", integer=True, positive=True)
_k, _s, _p = sp.IndexedBase("k"), sp.IndexedBase("s"), sp.IndexedBase("p")

CLOSED_FORM = claim(
    "receptive_field.closed_form",
    witnesses=("symbolic",),
    source=f"{SEED_000} Problem 4 (left blank in the write-up; stated in docs/conv.md)",
    statement="Walking back through L conv/pool layers, output row i reads input rows "
    "S i − P … S i − P + R − 1 (before clipping): S = Π s_ℓ, P = Σ p_ℓ Π_{m<ℓ} s_m, "
    "R = 1 + Σ (k_ℓ − 1) Π_{m<ℓ} s_m.",
    formula=lambda: sp.Eq(
        sp.Tuple(sp.Function("a_0")(i), sp.Function("b_0")(i)),
        sp.Tuple(
            sp.Product(_s[_l], (_l, 1, _L)) * i
            - sp.Sum(_p[_l] * sp.Product(_s[_m], (_m, 1, _l - 1)), (_l, 1, _L)),
            sp.Product(_s[_l], (_l, 1, _L)) * i
            - sp.Sum(_p[_l] * sp.Product(_s[_m], (_m, 1, _l - 1)), (_l, 1, _L))
            + sp.Sum((_k[_l] - 1) * sp.Product(_s[_m], (_m, 1, _l - 1)), (_l, 1, _L)),
        ),
    ),
)
CLIP_AT_END = claim(
    "receptive_field.clip_at_end",
    witnesses=("autograd",),
    source=f"{SEED_000} Problem 4 (the issue's phrasing: an interval affine in i, clipped "
    "to the image)",
    statement="The input rows that influence output row i are exactly [a_0(i), b_0(i)] "
    "clipped once to the image.",
    formula=lambda: sp.Eq(
        sp.Symbol(r"\mathrm{support}(i)"),
        sp.Interval(sp.Max(0, sp.Function("a_0")(i)),
                    sp.Min(sp.Symbol("n") - 1, sp.Function("b_0")(i))),
        evaluate=False,
    ),
    verdict="refuted",
    corrected_by="receptive_field.clip_per_layer",
)
CLIP_PER_LAYER = claim(
    "receptive_field.clip_per_layer",
    witnesses=("implementation", "autograd"),
    source=f"{SEED_000} Problem 4",
    statement="With s_ℓ ≤ k_ℓ and p_ℓ < k_ℓ at every layer the influencing rows are exactly "
    "the interval of the recursion clipped at every layer (a ← max(0, s a − p), "
    "b ← min(n_{ℓ−1} − 1, s b − p + k − 1)); for any stack input_region is the bounding box "
    "of the influencing positions, and 2-D fields are products of the row and column fields.",
    formula=lambda: sp.Eq(
        sp.Tuple(sp.Indexed("a", _l - 1), sp.Indexed("b", _l - 1)),
        sp.Tuple(sp.Max(0, _s[_l] * sp.Indexed("a", _l) - _p[_l]),
                 sp.Min(sp.Indexed("n", _l - 1) - 1,
                        _s[_l] * sp.Indexed("b", _l) - _p[_l] + _k[_l] - 1)),
    ),
)
VGG16 = claim(
    "receptive_field.vgg16",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_000} Problem 4 (left blank in the seed)",
    statement="VGG16 on 224×224: y1[k,i,j] sees rows i−2…i+2, y2 rows 2i−2…2i+3, y3 rows "
    "4i−6…4i+9 (columns likewise in j), all channels, clipped to 0…223.",
    formula=lambda: sp.Tuple(*[
        sp.Eq(sp.Symbol(f"y_{q}"), sp.Interval(sp.Max(0, lo), sp.Min(223, hi)), evaluate=False)
        for q, (lo, hi) in ((1, (i - 2, i + 2)), (2, (2 * i - 2, 2 * i + 3)),
                            (3, (4 * i - 6, 4 * i + 9)))
    ]),
)

# One axis of a layer: (kernel, stride, padding).
Axis = tuple[int, int, int]


@cache
def recursion_vs_closed_form(depth: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """((a_0, b_0) by composing the one-layer recursion, the closed form (S i − P, … + R − 1))
    for symbolic k_ℓ, s_ℓ, p_ℓ, ℓ = 1 … depth."""
    k = sp.symbols(f"k1:{depth + 1}", positive=True)
    s = sp.symbols(f"s1:{depth + 1}", positive=True)
    p = sp.symbols(f"p1:{depth + 1}", nonnegative=True)
    a, b = i, i
    for ell in reversed(range(depth)):
        a, b = s[ell] * a - p[ell], s[ell] * b - p[ell] + k[ell] - 1
    jump = [sp.Mul(*s[:ell]) for ell in range(depth)]  # Π_{m<ℓ} s_m
    S = sp.Mul(*s)
    P = sum(p[ell] * jump[ell] for ell in range(depth))
    R = 1 + sum((k[ell] - 1) * jump[ell] for ell in range(depth))
    return sp.ImmutableMatrix([a, b]), sp.ImmutableMatrix([S * i - P, S * i - P + R - 1])


def affine_bounds(axes: Sequence[Axis]) -> tuple[sp.Expr, sp.Expr]:
    """(a_0(i), b_0(i)) for a concrete layer list along one axis, unclipped, affine in i."""
    jump, S, P, R = 1, 1, 0, 1
    for k, s, p in axes:
        P += p * jump
        R += (k - 1) * jump
        jump *= s
        S *= s
    return S * i - P, S * i - P + R - 1


def clipped_once(axes: Sequence[Axis], n: int) -> tuple[sp.Expr, sp.Expr]:
    """The closed form clipped once to the image 0 … n − 1 (the refuted reading)."""
    a, b = affine_bounds(axes)
    return sp.Max(0, a), sp.Min(n - 1, b)


def clipped_per_layer(axes: Sequence[Axis], n: int) -> tuple[sp.Expr, sp.Expr]:
    """The recursion clipped at every layer, as expressions in i (Max/Min of affine terms)."""
    sizes = [n]
    for k, s, p in axes:
        sizes.append((sizes[-1] + 2 * p - k) // s + 1)
    a, b = i, i
    for ell in reversed(range(len(axes))):
        k, s, p = axes[ell]
        a = sp.Max(0, s * a - p)
        b = sp.Min(sizes[ell] - 1, s * b - p + k - 1)
    return a, b


# The first layers of VGG16 (the problem statement), one axis: conv3 p1, conv3 p1, pool2 s2,
# conv3 p1, conv3 p1, pool2 s2; y1 after layer 2, y2 after layer 3, y3 after layer 6.
VGG16_AXES: tuple[Axis, ...] = ((3, 1, 1), (3, 1, 1), (2, 2, 0), (3, 1, 1), (3, 1, 1), (2, 2, 0))
VGG16_OUTPUTS = {1: 2, 2: 3, 3: 6}  # y_p is the output of the first VGG16_OUTPUTS[p] layers


def vgg16_fields(n: int = 224) -> dict[int, tuple[sp.Expr, sp.Expr]]:
    """y_p ↦ (first, last) input row of the field of y_p[k, i, j] from the closed form,
    clipped per layer (columns: the same with j for i)."""
    return {q: clipped_per_layer(VGG16_AXES[:depth], n) for q, depth in VGG16_OUTPUTS.items()}

_q, _nn = sp.Symbol("q", integer=True), sp.Symbol("n", integer=True, positive=True)
PADDING_MODES = claim(
    "receptive_field.padding_modes",
    source=f"{SEED_000} Problem 4 (torch's padding_mode and dilation, beyond the seed)",
    statement="Output row i of a layer with kernel k, stride s, padding p, dilation d reads the "
    "input rows r(s i − p + d a), a = 0 … k − 1, where r(q) = q inside the input and outside "
    "it: nothing (zeros), q mod n (circular), −q or 2(n−1) − q (reflect), the nearest edge row "
    "(replicate); the field of a stack is this map composed layer by layer.",
    formula=lambda: sp.Tuple(
        sp.Eq(sp.Function("r_{circular}")(_q), sp.Mod(_q, _nn), evaluate=False),
        sp.Eq(sp.Function("r_{reflect}")(_q),
              sp.Piecewise((-_q, _q < 0), (2 * (_nn - 1) - _q, _q >= _nn), (_q, True)),
              evaluate=False),
        sp.Eq(sp.Function("r_{replicate}")(_q), sp.Min(sp.Max(_q, 0), _nn - 1),
              evaluate=False),
    ),
    witnesses=("implementation", "autograd"),
)
