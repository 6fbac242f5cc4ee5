"""Receptive fields of conv/pool stacks, three witnesses.

1. sympy (``derivations/receptive_field.py``): the one-layer recursion composes to the closed
   form S i − P … S i − P + R − 1; the per-layer clipped recursion; the VGG16 answers;
2. ``impl/receptive_field.py``: ``input_region`` / ``input_support`` by exact propagation;
3. torch autograd: the support of ∂ y[0, 0, i, j] / ∂ x through a *structural twin* of the
   stack (all conv weights positive, max-pool → avg-pool, activations → identity), whose
   gradient entries are sums of positive products: nonzero exactly where the output can
   depend on the input.

Seed: ``000_44446893528eed8a.txt`` Problem 4 (left blank; statement in PROBLEMS.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import example, find, given, note
from hypothesis import strategies as st
from torch import nn

from derivations import receptive_field as D
from dlmath_verify.checks import record_counterexample
from dlmath_verify.symbolic import prove_identity
from impl import receptive_field as K
from tests.tiers import slow_except

# ------------------------------------------------------------------ strategies and twins


@st.composite
def stacks(draw, *, gapless: bool = False, max_layers: int = 4):
    """(layers, (H, W)): a list of (kernel, stride, padding) pairs per axis and an input size
    that every layer fits. Pools keep padding ≤ k/2 (torch's rule); ``gapless`` draws
    stride ≤ kernel and padding < kernel."""
    depth = draw(st.integers(1, max_layers), label="depth")
    layers, kinds = [], []
    for _ in range(depth):
        kind = draw(st.sampled_from(["conv", "pool"]), label="kind")
        k = tuple(draw(st.integers(1, 4 if kind == "conv" else 3)) for _ in range(2))
        s = tuple(draw(st.integers(1, k[a] if gapless else 3)) for a in range(2))
        p_max = [(k[a] - 1 if gapless else 2) if kind == "conv" else k[a] // 2
                 for a in range(2)]
        p = tuple(draw(st.integers(0, p_max[a])) for a in range(2))
        layers.append((k, s, p))
        kinds.append(kind)
    # the smallest input each axis admits, walking back (kernel ≤ padded input at each layer)
    size = []
    for ax in range(2):
        n = 1  # walking back: the smallest input that leaves n ≥ 1 outputs at each layer
        for k, s, p in reversed(layers):
            n = max(1, (n - 1) * s[ax] + k[ax] - 2 * p[ax])
        size.append(n + draw(st.integers(0, 6), label="extra"))
    note(f"layers {list(zip(kinds, layers, strict=True))}, input {tuple(size)}")
    return list(zip(kinds, layers, strict=True)), tuple(size)


def as_sequential(stack) -> nn.Sequential:
    """The stack as torch layers (conv 1→1 channels, ReLU after convs, max-pools)."""
    mods: list[nn.Module] = []
    for kind, (k, s, p) in stack:
        if kind == "conv":
            mods += [nn.Conv2d(1, 1, k, s, p), nn.ReLU()]
        else:
            mods.append(nn.MaxPool2d(k, s, p))
    return nn.Sequential(*mods)


def structural_twin(model: nn.Sequential) -> nn.Sequential:
    """All-ones conv weights, no bias, MaxPool → AvgPool, element-wise layers dropped."""
    mods: list[nn.Module] = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            c = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                          dilation=m.dilation, bias=False, padding_mode=m.padding_mode)
            with torch.no_grad():
                c.weight.fill_(1.0)
            mods.append(c)
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            stride = m.stride if m.stride is not None else m.kernel_size
            mods.append(nn.AvgPool2d(m.kernel_size, stride, m.padding))
    return nn.Sequential(*mods)


def gradient_support(model: nn.Sequential, shape, index) -> np.ndarray:
    """Boolean (H, W) support of ∂ twin(x)[0, :, i, j].sum() / ∂x, over all input channels."""
    x = torch.ones(shape, requires_grad=True)
    y = structural_twin(model)(x)
    (g,) = torch.autograd.grad(y[0, :, index[0], index[1]].sum(), x)
    return (g[0] != 0).any(dim=0).numpy()


def row_support(model: nn.Sequential, size, i: int) -> np.ndarray:
    """Input rows on which output row i (all its columns) depends."""
    x = torch.ones((1, 1, *size), requires_grad=True)
    (g,) = torch.autograd.grad(structural_twin(model)(x)[0, :, i, :].sum(), x)
    return (g[0, 0] != 0).any(dim=1).numpy()


def axis(stack, ax):
    return [(k[ax], s[ax], p[ax]) for _kind, (k, s, p) in stack]


# ------------------------------------------------------------------ 1. symbolic witness


@pytest.mark.slow
@pytest.mark.claim("receptive_field.closed_form", kind="symbolic")
@given(depth=st.integers(1, 6), data=st.data())
def test_layer_recursion_composes_to_S_i_minus_P_plus_R(depth, data):
    r"""a_{ℓ−1} = s_ℓ a_ℓ − p_ℓ, b_{ℓ−1} = s_ℓ b_ℓ − p_ℓ + k_ℓ − 1 from a_L = b_L = i gives
    a_0 = S i − P, b_0 = S i − P + R − 1, for symbolic k_ℓ, s_ℓ, p_ℓ."""
    prove_identity(*D.recursion_vs_closed_form(depth), claim="receptive_field.closed_form",
                   data=data)


# ------------------------------------------------------------------ 2–3. against autograd


@pytest.mark.claim("receptive_field.clip_per_layer", kind="autograd")
@given(stack=stacks(), data=st.data())
def test_input_region_is_the_bounding_box_of_the_gradient_support(stack, data):
    """input_support = support of the gradient (product of row and column masks), and
    input_region = its bounding box, for any conv/pool stack."""
    layers, size = stack
    model = as_sequential(layers)
    out = K.output_size(model, size)
    index = (data.draw(st.integers(0, out[0] - 1)), data.draw(st.integers(0, out[1] - 1)))
    support = gradient_support(model, (1, 1, *size), index)
    rows, cols = K.input_support(model, size, index)
    assert np.array_equal(np.outer(rows, cols), support), (
        f"claim receptive_field.clip_per_layer: input_support rows {np.flatnonzero(rows)}, "
        f"cols {np.flatnonzero(cols)} but the gradient support is at "
        f"{np.argwhere(support).tolist()}")
    region = K.input_region(model, size, index)
    if support.any():
        r, c = np.flatnonzero(support.any(1)), np.flatnonzero(support.any(0))
        assert region == ((r[0], r[-1]), (c[0], c[-1])), (
            f"claim receptive_field.clip_per_layer: region {region}, gradient support spans "
            f"rows {r[0]}..{r[-1]}, cols {c[0]}..{c[-1]}")
    else:
        assert region is None


@pytest.mark.claim("receptive_field.clip_per_layer", kind="implementation")
@given(stack=stacks(gapless=True), data=st.data())
def test_gapless_field_is_the_interval_of_the_per_layer_clipped_recursion(stack, data):
    """With s ≤ k and p < k everywhere the gradient support is the full box
    [a(i), b(i)] × [a(j), b(j)] of the sympy recursion clipped at every layer."""
    layers, size = stack
    model = as_sequential(layers)
    out = K.output_size(model, size)
    index = (data.draw(st.integers(0, out[0] - 1)), data.draw(st.integers(0, out[1] - 1)))
    support = gradient_support(model, (1, 1, *size), index)
    box = []
    for ax in range(2):
        lo, hi = D.clipped_per_layer(axis(layers, ax), size[ax])
        box.append((int(lo.subs(D.i, index[ax])), int(hi.subs(D.i, index[ax]))))
    expected = np.zeros(size, dtype=bool)
    expected[box[0][0]:box[0][1] + 1, box[1][0]:box[1][1] + 1] = True
    assert np.array_equal(support, expected), (
        f"claim receptive_field.clip_per_layer: sympy box {box}, gradient support at "
        f"{np.argwhere(support).tolist()}")
    assert K.input_region(model, size, index) == tuple(box)


@pytest.mark.claim("receptive_field.clip_at_end", kind="autograd")
def test_clipping_the_closed_form_once_overstates_the_field():
    """Refuted: [a_0(i), b_0(i)] clipped once to the image is not the field in general.
    Hypothesis searches stacks for one where it disagrees with the gradient support."""

    def rows_only(case):
        """The stack's row geometry with 1×1 stride-1 columns, on one column."""
        (layers, size), i = case
        flat = [(kind, ((k[0], 1), (s[0], 1), (p[0], 0))) for kind, (k, s, p) in layers]
        return (flat, (size[0], 1)), i

    def clip_once_is_wrong(case) -> bool:
        (layers, size), i = rows_only(case)
        model = as_sequential(layers)
        out = K.output_size(model, size)
        i = min(i, out[0] - 1)
        lo, hi = D.clipped_once(axis(layers, 0), size[0])
        rows = row_support(model, size, i)
        lo, hi = int(lo.subs(D.i, i)), int(hi.subs(D.i, i))
        claimed = np.zeros(size[0], dtype=bool)
        claimed[lo:max(hi + 1, lo)] = True  # [lo, hi] is empty when hi < lo
        return not np.array_equal(rows, claimed)

    (layers, size), i = rows_only(find(st.tuples(stacks(max_layers=3), st.integers(0, 8)),
                                       clip_once_is_wrong))
    model = as_sequential(layers)
    i = min(i, K.output_size(model, size)[0] - 1)
    lo, hi = D.clipped_once(axis(layers, 0), size[0])
    rows = np.flatnonzero(row_support(model, size, i)).tolist()
    record_counterexample(
        "receptive_field.clip_at_end",
        f"rows layers (k, s, p) {axis(layers, 0)} on {size[0]} rows, output row {i}: clipped "
        f"once [{lo.subs(D.i, i)}, {hi.subs(D.i, i)}], gradient support rows {rows}")


# ------------------------------------------------------------------ VGG16


def vgg16_prefix() -> nn.Sequential:
    """The first layers of VGG16 as in PROBLEMS.md (channels as in VGG16)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1),
        nn.ReLU(), nn.MaxPool2d(2, 2),
    )


# The answer derived by hand (independently of the code): y1 = two 3×3 convs → rows i−2…i+2;
# y2 = pool 2/2 of y1 → y1 rows 2i…2i+1 → 2i−2…2i+3; y3: pool rows 2i…2i+1 of conv4 ← conv3
# rows 2i−1…2i+2 ← y2 rows 2i−2…2i+3 ← y1 rows 4i−4…4i+7 ← input rows 4i−6…4i+9.
VGG16_BY_HAND = {1: (D.i - 2, D.i + 2), 2: (2 * D.i - 2, 2 * D.i + 3),
                 3: (4 * D.i - 6, 4 * D.i + 9)}
VGG16_DEPTH = {1: 4, 2: 5, 3: 10}  # modules of vgg16_prefix() up to y_p


@pytest.mark.claim("receptive_field.vgg16", "receptive_field.closed_form", kind="symbolic")
@pytest.mark.parametrize("q", slow_except([1, 2, 3], [3]))
def test_vgg16_fields_from_the_closed_form_are_the_answers_by_hand(q):
    """The sympy closed form of the first layers of VGG16 gives the answer derived by hand,
    and on 224 rows (even at every pool) clipping once equals clipping per layer."""
    depth = D.VGG16_OUTPUTS[q]
    a, b = D.affine_bounds(D.VGG16_AXES[:depth])
    assert sp.expand(a - VGG16_BY_HAND[q][0]) == 0 and sp.expand(b - VGG16_BY_HAND[q][1]) == 0
    per_layer, once = D.vgg16_fields()[q], D.clipped_once(D.VGG16_AXES[:depth], 224)
    n_out = 224 // (1, 1, 2, 4)[q]
    for ii in range(n_out):
        lo, hi = (int(e.subs(D.i, ii)) for e in per_layer)
        assert (lo, hi) == (max(0, int(a.subs(D.i, ii))), min(223, int(b.subs(D.i, ii))))
        assert (lo, hi) == tuple(int(e.subs(D.i, ii)) for e in once)


def vgg16_hand_box(q: int, i: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
    lo, hi = VGG16_BY_HAND[q]
    return ((max(0, int(lo.subs(D.i, i))), min(223, int(hi.subs(D.i, i)))),
            (max(0, int(lo.subs(D.i, j))), min(223, int(hi.subs(D.i, j)))))


@pytest.mark.claim("receptive_field.vgg16", kind="implementation")
@pytest.mark.parametrize("q", slow_except([1, 2, 3], [1]))
@given(data=st.data())
def test_vgg16_input_region_is_the_formula_in_i_and_j(q, data):
    """input_region of the VGG16 prefix (an nn.Sequential, real channel counts) at drawn
    (i, j) is the hand formula, clipped to 0…223."""
    model = vgg16_prefix()[: VGG16_DEPTH[q]]
    n_out = K.output_size(model, 224)[0]
    i, j = data.draw(st.integers(0, n_out - 1)), data.draw(st.integers(0, n_out - 1))
    assert K.input_region(model, (224, 224), (i, j)) == vgg16_hand_box(q, i, j)


@pytest.mark.claim("receptive_field.vgg16", kind="autograd")
@pytest.mark.parametrize("q", [1, 2, 3])
@pytest.mark.parametrize("where", ["top-left", "top-right", "centre", "bottom-left"])
def test_vgg16_formula_is_the_gradient_support(q, where):
    """The gradient support of the VGG16 prefix's twin on a 3×224×224 input (all 3 channels)
    is the hand formula's box, at the clipped corners and in the interior (fixed positions:
    each gradient costs a full 224×224 pass, so Hypothesis draws only the cheap check above)."""
    model = vgg16_prefix()[: VGG16_DEPTH[q]]
    last = K.output_size(model, 224)[0] - 1
    i, j = {"top-left": (0, 0), "top-right": (0, last), "centre": (last // 2, last // 2 + 1),
            "bottom-left": (last, 1)}[where]
    rows, cols = vgg16_hand_box(q, i, j)
    # fewer channels (3 → 1 → 1 …) for speed: the field depends on kernels, strides and
    # paddings only, and every channel of the input counts
    convs = iter(range(10))
    small = nn.Sequential(*[
        nn.Conv2d(3 if next(convs) == 0 else 1, 1, 3, padding=1) if isinstance(m, nn.Conv2d)
        else m for m in model])
    support = gradient_support(small, (1, 3, 224, 224), (i, j))
    expected = np.zeros((224, 224), dtype=bool)
    expected[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = True
    assert np.array_equal(support, expected), (
        f"claim receptive_field.vgg16: y{q}[k, {i}, {j}]: formula rows {rows} cols {cols}, "
        f"gradient support rows {np.flatnonzero(support.any(1)).tolist()}, "
        f"cols {np.flatnonzero(support.any(0)).tolist()}")


@pytest.mark.slow
@pytest.mark.conventions
@given(stack=stacks(), data=st.data())
def test_list_and_sequential_descriptions_agree(stack, data):
    layers, size = stack
    out = K.output_size(as_sequential(layers), size)
    index = (data.draw(st.integers(0, out[0] - 1)), data.draw(st.integers(0, out[1] - 1)))
    as_list = [layer for _kind, layer in layers]
    as_dicts = [{"kernel": k, "stride": s, "padding": p} for k, s, p in as_list]
    got = {K.input_region(d, size, index) for d in (as_list, as_dicts, as_sequential(layers))}
    assert len(got) == 1, got


# ------------------------------------------------------------------ bad input

BAD = [
    pytest.param(lambda: K.input_region([(3, 1, 0)], 4, (2, 0)), "index", id="index-outside"),
    pytest.param(lambda: K.input_region([(3, 1, 0)], 4, (0, -1)), "index", id="index-negative"),
    pytest.param(lambda: K.input_region([(3, 0, 0)], 4, (0, 0)), "stride", id="stride=0"),
    pytest.param(lambda: K.input_region([(5, 1, 0)], 4, (0, 0)), "kernel", id="kernel>input"),
    pytest.param(lambda: K.output_size([(7, 1, 1)], 4), "kernel 7 .* larger than its padded",
                 id="kernel>padded-input"),
    pytest.param(lambda: K.output_size("conv3", 8), "layers must be a list", id="str-layers"),
    pytest.param(lambda: K.output_size(3, 8), "layers must be a list", id="int-layers"),
    pytest.param(lambda: K.output_size(["333"], 8), r"layers\[0\] must be a Layer, a dict",
                 id="str-layer"),
    pytest.param(lambda: K.output_size([()], 8), r"layers\[0\] must be a Layer, a dict",
                 id="empty-tuple-layer"),
    pytest.param(lambda: K.output_size([(3, 1, 0, 1)], 8), r"layers\[0\] must be a Layer",
                 id="4-tuple-layer"),
    pytest.param(lambda: K.input_region([(3, 1, -1)], 4, (0, 0)), "padding", id="padding<0"),
    pytest.param(lambda: K.input_region(nn.Sequential(nn.Linear(2, 2)), 4, (0, 0)), "Linear",
                 id="not-conv-or-pool"),
    pytest.param(lambda: K.output_size([{"kernel": 3, "strides": 2}], 8), "strides",
                 id="misspelt-key"),
    pytest.param(lambda: K.output_size([{"kernal": 3}], 8), "kernal", id="misspelt-kernel"),
    pytest.param(lambda: K.output_size([{"kernel": 3, "padding_mode": "wrap"}], 8),
                 "padding_mode", id="unknown-padding-mode"),
]


@pytest.mark.conventions
@pytest.mark.parametrize(("call", "names"), BAD)
def test_bad_input_raises_value_error_naming_the_argument(call, names):
    with pytest.raises(ValueError, match=names):
        call()


# ------------------------------------------------------- padding modes and dilation (torch's)


@st.composite
def moded_stacks(draw, *, max_layers: int = 3):
    """(model, (H, W)): convolutions (1→1 channel) with a drawn padding_mode, dilation, stride
    and padding, and average pools, on an input every layer fits (circular padding ≤ its
    input, reflect padding < its input: torch's own limits)."""
    depth = draw(st.integers(1, max_layers), label="depth")
    specs = []
    for _ in range(depth):
        if draw(st.booleans(), label="pool"):
            k = draw(st.integers(1, 3))
            specs.append(("pool", k, draw(st.integers(1, 2)), draw(st.integers(0, k // 2)), 1,
                          "zeros"))
        else:
            specs.append(("conv", draw(st.integers(1, 3)), draw(st.integers(1, 2)),
                          draw(st.integers(0, 2)), draw(st.integers(1, 3)),
                          draw(st.sampled_from(K.PADDING_MODES), label="padding_mode")))
    n = 1  # walking back: the smallest input that leaves ≥ 1 output and satisfies the modes
    for _kind, k, s, p, d, mode in reversed(specs):
        n = max(1, (n - 1) * s + d * (k - 1) + 1 - 2 * p, p + 1 if mode == "reflect" else 1,
                p if mode == "circular" else 1)
    size = n + draw(st.integers(0, 4), label="extra")
    mods = [nn.Conv2d(1, 1, k, s, p, dilation=d, padding_mode=mode) if kind == "conv"
            else nn.AvgPool2d(k, s, p) for kind, k, s, p, d, mode in specs]
    note(f"layers {specs}, input {size}")
    return nn.Sequential(*mods), (size, size)


@pytest.mark.slow
@pytest.mark.claim("receptive_field.padding_modes", kind=("implementation", "autograd"))
@given(stack=moded_stacks(), data=st.data())
def test_input_support_honours_padding_mode_and_dilation(stack, data):
    """The positions with a nonzero gradient of one output through the structural twin (all
    weights positive, so no cancellation) are exactly input_support's, for zeros, circular,
    reflect and replicate padding and any dilation: the field wraps (circular), mirrors
    (reflect) or clamps (replicate) as torch pads."""
    model, size = stack
    out = K.output_size(model, size)
    index = (data.draw(st.integers(0, out[0] - 1)), data.draw(st.integers(0, out[1] - 1)))
    support = gradient_support(model, (1, 1, *size), index)
    rows, cols = K.input_support(model, size, index)
    assert np.array_equal(np.outer(rows, cols), support), (
        f"claim receptive_field.padding_modes: input_support rows {np.flatnonzero(rows)}, "
        f"cols {np.flatnonzero(cols)}; gradient support {np.argwhere(support).tolist()}")


@pytest.mark.claim("receptive_field.padding_modes", kind="autograd")
def test_circular_padding_field_of_the_corner_wraps_around():
    """The issue's example: a 3×3 circular conv on 8×8 at (0, 0) reads rows and columns
    7, 0, 1 (torch's gradient says so); the bounding box is the whole image."""
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular"))
    support = gradient_support(model, (1, 1, 8, 8), (0, 0))
    assert np.flatnonzero(support.any(1)).tolist() == [0, 1, 7]
    rows, cols = K.input_support(model, (8, 8), (0, 0))
    assert np.flatnonzero(rows).tolist() == [0, 1, 7] == np.flatnonzero(cols).tolist()
    assert K.input_region(model, (8, 8), (0, 0)) == ((0, 7), (0, 7))


@pytest.mark.claim("receptive_field.padding_modes", kind="implementation")
def test_a_dilation_key_is_honoured():
    """{"kernel": 3, "dilation": 2} reads rows 0, 2, 4 (it was dropped: rows 0 … 2)."""
    rows, _ = K.input_support([{"kernel": 3, "dilation": 2}], (8, 8), (0, 0))
    assert np.flatnonzero(rows).tolist() == [0, 2, 4]
    assert K.output_size([{"kernel": 3, "dilation": 2}], (8, 8)) == (4, 4)


@pytest.mark.slow
@pytest.mark.conventions
@given(k=st.tuples(st.integers(2, 4), st.integers(2, 4)), extra=st.tuples(
    st.integers(2, 5), st.integers(2, 5)), data=st.data())
def test_a_kernel_alone_describes_torchs_default_conv(k, extra, data):
    """``Layer(kernel)``, ``Layer.of(kernel)``, a 1-tuple and ``{"kernel": k}`` mean torch's
    ``Conv2d(1, 1, k)`` defaults (stride 1, padding 0, dilation 1, zeros): the output size is
    the one torch computes, and the field of a drawn output is the gradient support."""
    size = (k[0] + extra[0], k[1] + extra[1])
    conv = nn.Conv2d(1, 1, k)
    torch_out = tuple(conv(torch.zeros(1, 1, *size)).shape[-2:])
    index = (data.draw(st.integers(0, torch_out[0] - 1)),
             data.draw(st.integers(0, torch_out[1] - 1)))
    support = gradient_support(nn.Sequential(conv), (1, 1, *size), index)
    for layers in ([K.Layer(k)], [K.Layer.of(k)], [(k,)], [{"kernel": k}]):
        assert K.output_size(layers, size) == torch_out, layers
        rows, cols = K.input_support(layers, size, index)
        assert np.array_equal(np.outer(rows, cols), support), layers


@pytest.mark.slow
@pytest.mark.claim("receptive_field.clip_per_layer", kind="autograd")
@given(stack=stacks())
def test_the_last_output_position_is_in_range_and_the_next_is_refused(stack):
    """The output's far corner (H−1, W−1) has the gradient support as its field, in a stack
    whose output may be larger or smaller than its first layer's (padding grows a map); the
    positions H and W along either axis are outside the output: a ValueError naming index."""
    layers, size = stack
    model = as_sequential(layers)
    out = K.output_size(model, size)
    for index in ((out[0] - 1, out[1] - 1), (out[0] - 1, 0), (0, out[1] - 1)):
        rows, cols = K.input_support(model, size, index)
        assert np.array_equal(np.outer(rows, cols),
                              gradient_support(model, (1, 1, *size), index)), index
    for index in ((out[0], 0), (0, out[1]), (out[0], out[1] - 1), (out[0] - 1, out[1])):
        with pytest.raises(ValueError, match=r"index .* is outside the output of size"):
            K.input_support(model, size, index)


@pytest.mark.claim("receptive_field.padding_modes", kind="autograd")
def test_circular_padding_as_large_as_the_input_is_accepted():
    """torch allows circular padding up to the input size: a 3×3 conv with padding 2 on a 2×2
    input gives a 4×4 map whose corner reads the whole input (the gradient says so)."""
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=2, padding_mode="circular"))
    assert K.output_size(model, (2, 2)) == tuple(model(torch.zeros(1, 1, 2, 2)).shape[-2:])
    for index in ((0, 0), (3, 1)):
        rows, cols = K.input_support(model, (2, 2), index)
        assert np.array_equal(np.outer(rows, cols),
                              gradient_support(model, (1, 1, 2, 2), index))


@pytest.mark.slow
@pytest.mark.claim("receptive_field.padding_modes", kind="autograd")
@given(stack=moded_stacks())
@example(stack=(nn.Sequential(nn.Conv2d(1, 1, 1, padding=2, padding_mode="replicate")), (3, 3)))
@example(stack=(nn.Sequential(nn.Conv2d(1, 1, 1, padding=2, padding_mode="reflect")), (3, 3)))
@example(stack=(nn.Sequential(nn.Conv2d(1, 1, 1, padding=2, padding_mode="circular")), (3, 3)))
def test_the_fields_of_the_four_corners_honour_padding_mode(stack):
    """The corners are where padding is read on both sides of each axis (the rows a replicate
    pad clamps to, a reflect pad mirrors, a circular pad wraps to): each corner's field is the
    gradient support through torch's own padding. A 1×1 kernel with padding 2 puts the
    corner outputs on padding alone (the examples)."""
    model, size = stack
    out = K.output_size(model, size)
    for index in ((0, 0), (0, out[1] - 1), (out[0] - 1, 0), (out[0] - 1, out[1] - 1)):
        rows, cols = K.input_support(model, size, index)
        assert np.array_equal(np.outer(rows, cols),
                              gradient_support(model, (1, 1, *size), index)), index
