r"""Counting parameters and operations: three witnesses per count.

1. sympy (``derivations/flops.py``): the closed forms, and each layer's output sums written
   out term by term with distinct symbols and counted (the derivation of the closed forms);
2. the counter (``impl/flops.py``): a real forward pass through a torch model, counted per
   layer from the module's hyperparameters and the shapes it sees;
3. torch itself: the output shapes of the forward pass, ``FlopCounterMode`` (2 FLOPs per
   multiply-add) and ``sum(p.numel())``.

Seeds: ``000_44446893528eed8a.txt`` Problem 5 (bottleneck convolution) and
``001_d80f36ddf3b5193b.txt`` Problem 2 (AlexNet: are linear layers compute-heavy?).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from fractions import Fraction
from math import prod

import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import assume, example, given, note
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from derivations import flops as D
from dlmath_verify.checks import record_counterexample
from dlmath_verify.symbolic import prove_identity
from impl.flops import count
from tests.zoo import Parallel, module_one, module_two, seed_alexnet

FIELDS = ("params", "mults", "adds", "activations")
# The seeds' "activations" (000 Problem 5: evaluations of the activation function) are the
# counter's ``other`` column (one per element an activation function is applied to); the
# counter's ``activations`` column is the elements its operations write.
SEED_TO_COUNTER = {"params": "params", "mults": "mults", "adds": "adds", "activations": "other"}


pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def torch_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FlopCounterMode's total for one example, halved (it counts a multiply-add as 2)."""
    p = next(model.parameters(), None)
    x = torch.zeros((1, *input_shape), device=p.device if p is not None else "meta",
                    dtype=p.dtype if p is not None else None)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(x)
    total = fc.get_total_flops()
    assert total % 2 == 0, f"FlopCounterMode total {total} is odd"
    return total // 2


def numel_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def assert_counts(actual: dict[str, int], expected: dict[str, int], *, claim: str,
                  what: str) -> None:
    """Exact integer agreement, every field named in the message."""
    bad = {f: (actual[f], expected[f]) for f in expected if actual[f] != expected[f]}
    assert not bad, (f"claim {claim} ({what}): " + "; ".join(
        f"{f}: counter {a:,} != formula {e:,}" for f, (a, e) in bad.items()))


def row_counts(row) -> dict[str, int]:
    """A counter row (or Counts) in the seeds' fields."""
    return {f: getattr(row, SEED_TO_COUNTER[f]) for f in FIELDS}


def seed_totals(counts) -> dict[str, int]:
    return {f: counts.total(SEED_TO_COUNTER[f]) for f in FIELDS}


def only_row(counts):
    """The one row of a single-module model."""
    (row,) = counts.rows
    return row


# ------------------------------------------------------------------ strategies


@dataclass(frozen=True)
class ConvSpec:
    axes: int
    c_in: int
    c_out: int
    kernel: tuple[int, ...]
    stride: int
    padding: int
    dilation: int
    groups: int
    bias: bool
    in_size: tuple[int, ...]

    def out_size(self) -> tuple[int, ...]:
        """From the derivation's output-size formula, not from torch."""
        return tuple(D.conv_output_size(m, kk, self.stride, self.padding, self.dilation)
                     for m, kk in zip(self.in_size, self.kernel, strict=True))

    def module(self) -> nn.Module:
        cls = nn.Conv1d if self.axes == 1 else nn.Conv2d
        return cls(self.c_in, self.c_out, self.kernel, stride=self.stride,
                   padding=self.padding, dilation=self.dilation, groups=self.groups,
                   bias=self.bias)

    def formula(self) -> dict[str, int]:
        return D.conv_counts(self.c_in, self.c_out, self.kernel, self.out_size(),
                             groups=self.groups, bias=self.bias)


@st.composite
def conv_specs(draw, *, axes=None, max_channels: int = 3, max_kernel: int = 4,
               max_extra: int = 5, c_in=None) -> ConvSpec:
    """A conv layer: groups, then channels (multiples of the groups), kernel, stride,
    padding, dilation, bias, and an input long enough for at least one output."""
    axes = axes or draw(st.sampled_from([1, 2]))
    if c_in is None:
        groups = draw(st.integers(1, 3))
        c_in = groups * draw(st.integers(1, max_channels))
    else:
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if c_in % g == 0]))
    c_out = groups * draw(st.integers(1, max_channels))
    kernel = tuple(draw(st.integers(1, max_kernel)) for _ in range(axes))
    stride, padding, dilation = draw(st.integers(1, 3)), draw(st.integers(0, 2)), \
        draw(st.integers(1, 3))
    in_size = tuple(max(1, dilation * (kk - 1) + 1 - 2 * padding)
                    + draw(st.integers(0, max_extra)) for kk in kernel)
    spec = ConvSpec(axes, c_in, c_out, kernel, stride, padding, dilation, groups,
                    draw(st.booleans()), in_size)
    note(spec)
    return spec


# ------------------------------------------------------------------ 1. symbolic witness


@pytest.mark.claim("flops.conv_output_size", kind="symbolic")
@given(n=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 3),
       d=st.integers(1, 3))
@example(n=227, k=11, s=4, p=0, d=1)  # AlexNet's first conv: 55 (seed 001 Problem 2)
@example(n=55, k=3, s=2, p=0, d=1)  # its first max-pool: 27
def test_conv_output_size_formula_counts_the_window_positions(n, k, s, p, d):
    """n_o = ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1 = the number of windows that fit, one by one."""
    enumerated = D.conv_output_size_by_enumeration(n, k, s, p, d)
    if enumerated >= 1:
        assert D.conv_output_size(n, k, s, p, d) == enumerated
    else:
        with pytest.raises(ValueError, match="does not fit"):
            D.conv_output_size(n, k, s, p, d)


@pytest.mark.claim("flops.conv_parameters", "flops.conv_multiplications",
                   "flops.conv_additions", "flops.conv_activations", kind="symbolic")
@given(spec=conv_specs(max_channels=2, max_kernel=3, max_extra=3))
def test_conv_closed_forms_count_the_terms_of_the_written_out_sums(spec):
    """P = C_out(C_in/g)k_hk_w + βC_out, M = C_outH_oW_o(C_in/g)k_hk_w,
    A = C_outH_oW_o((C_in/g)k_hk_w − 1 + β): each output written out in sympy and counted."""
    enumerated = D.conv_counts_by_enumeration(spec.c_in, spec.c_out, spec.kernel,
                                              spec.in_size, spec.stride, spec.padding,
                                              spec.dilation, spec.groups, spec.bias)
    assert enumerated == spec.formula(), (enumerated, spec.formula())


@pytest.mark.claim("flops.linear_counts", kind="symbolic")
@given(p=st.integers(1, 6), q=st.integers(1, 6), bias=st.booleans())
def test_linear_closed_forms_count_the_terms_of_the_written_out_sums(p, q, bias):
    """P = pq + βq, M = pq, A = q(p − 1 + β), S = q, against y_j = Σ_i W_ji x_i (+ b_j)."""
    assert D.linear_counts_by_enumeration(p, q, bias) == D.linear_counts(p, q, bias=bias)


@pytest.mark.claim("flops.conv_multiplications", "flops.conv_additions",
                   "flops.alexnet_conv_operations", kind="symbolic")
@given(data=st.data())
def test_seed_formula_pk2l2n_is_the_conv_multiplication_and_addition_count(data):
    """The seeds' p·k²·l²·n (001 Problem 2; 000 Problem 5 with l = 32) is M at g = 1, square
    kernel and output; with a bias A = M (the seeds count + and × alike), without
    A = M − C_out H_o W_o."""
    square = {D.g: 1, D.k_h: D.k, D.k_w: D.k, D.H_o: D.l, D.W_o: D.l}
    mults = D.CONV["mults"].subs(square)
    prove_identity(mults, D.SEED_CONV_OPS, claim="flops.conv_multiplications", data=data)
    prove_identity(D.CONV["adds"].subs(D.beta, 1), D.CONV["mults"],
                   claim="flops.conv_additions", data=data)
    prove_identity(D.CONV["adds"].subs(D.beta, 0),
                   D.CONV["mults"] - D.CONV["activations"], claim="flops.conv_additions",
                   data=data)


# ------------------------------------------------------------------ 2. counter = formula = torch


@pytest.mark.claim("flops.conv_parameters", "flops.conv_multiplications",
                   "flops.conv_additions", "flops.conv_output_size",
                   "flops.counter_matches_torch", kind="implementation")
@given(spec=conv_specs())
@example(spec=ConvSpec(2, 4, 6, (3, 3), 2, 1, 2, 2, False, (7, 9)))  # groups+stride+dilation
def test_counter_conv_row_is_the_formula_and_torch(spec):
    with torch.device("meta"):
        model = spec.module()
    counts = count(model, (spec.c_in, *spec.in_size))
    (row,) = counts.rows
    assert row.output_shape == (spec.c_out, *spec.out_size()), "torch's output shape"
    assert_counts(row_counts(row), {**spec.formula(), "activations": 0},
                  claim="flops.conv_multiplications", what=f"{spec}")
    assert counts.macs == row.mults == torch_macs(model, (spec.c_in, *spec.in_size))
    assert counts.params == numel_params(model)


@pytest.mark.slow
@pytest.mark.claim("flops.linear_counts", "flops.counter_matches_torch", kind="implementation")
@given(p=st.integers(1, 40), q=st.integers(1, 40), positions=st.integers(1, 3),
       bias=st.booleans(), leading=st.booleans())
def test_counter_linear_row_is_the_formula_and_torch(p, q, positions, bias, leading):
    """A linear layer over ``positions`` leading positions costs ``positions`` times p → q."""
    with torch.device("meta"):
        model = nn.Linear(p, q, bias=bias)
    shape = (positions, p) if leading else (p,)
    counts = count(model, shape)
    (row,) = counts.rows
    expected = D.linear_counts(p, q, bias=bias, positions=positions if leading else 1)
    assert_counts(row_counts(row), {**expected, "activations": 0},
                  claim="flops.linear_counts", what=f"Linear({p}, {q}, bias={bias}) on {shape}")
    assert counts.macs == torch_macs(model, shape)
    assert counts.params == numel_params(model)


@st.composite
def pools(draw):
    axes = draw(st.sampled_from([1, 2]))
    kind = draw(st.sampled_from(["max", "avg"]))
    k = draw(st.integers(1, 4))
    stride, padding = draw(st.integers(1, 3)), draw(st.integers(0, k // 2))
    channels = draw(st.integers(1, 3))
    size = tuple(k + draw(st.integers(0, 6)) for _ in range(axes))
    note((axes, kind, k, stride, padding, channels, size))
    return axes, kind, k, stride, padding, channels, size


@pytest.mark.slow
@pytest.mark.claim("flops.pooling_and_elementwise_counts", "flops.conv_output_size",
                   kind="implementation")
@given(pool=pools())
def test_counter_pooling_rows_follow_the_pooling_convention(pool):
    """Max: nothing; average: k^axes − 1 additions and 1 multiplication per output."""
    axes, kind, k, stride, padding, channels, size = pool
    cls = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("avg", 1): nn.AvgPool1d,
           ("avg", 2): nn.AvgPool2d}[kind, axes]
    counts = count(cls(k, stride=stride, padding=padding), (channels, *size))
    (row,) = counts.rows
    out = tuple(D.conv_output_size(m, k, stride, padding) for m in size)
    assert row.output_shape == (channels, *out)
    assert_counts(row_counts(row), D.pool_counts(kind, channels, (k,) * axes, out),
                  claim="flops.pooling_and_elementwise_counts", what=f"{cls.__name__}")


def adaptive_window_sizes(length: int, outputs: int) -> list[int]:
    """torch's own windows: pool a batch of one-hot inputs; output i sees input j iff > 0."""
    one_hot = torch.eye(length).reshape(length, 1, length)
    pooled = F.adaptive_avg_pool1d(one_hot, outputs)  # (length, 1, outputs)
    return (pooled[:, 0, :] > 0).sum(dim=0).tolist()


@pytest.mark.slow
@pytest.mark.claim("flops.pooling_and_elementwise_counts", kind="implementation")
@given(axes=st.sampled_from([1, 2]), channels=st.integers(1, 3), data=st.data())
@example(axes=2, channels=256, data=None)  # AlexNet's avgpool: 6×6 → 6×6, windows of 1
def test_counter_adaptive_average_pooling_sums_its_actual_windows(axes, channels, data):
    """Adaptive average pooling: Σ_outputs (window size − 1) additions, 1 multiplication each,
    with the window sizes read off torch's own kernel (one-hot inputs)."""
    if data is None:
        sizes, outs = (6, 6), (6, 6)
    else:
        sizes = tuple(data.draw(st.integers(1, 9)) for _ in range(axes))
        outs = tuple(data.draw(st.integers(1, m)) for m in sizes)
    cls = nn.AdaptiveAvgPool1d if axes == 1 else nn.AdaptiveAvgPool2d
    (row,) = count(cls(outs), (channels, *sizes)).rows
    windows = [adaptive_window_sizes(m, o) for m, o in zip(sizes, outs, strict=True)]
    per_channel = [w0 * w1 for w0 in windows[0] for w1 in (windows[1] if axes == 2 else [1])]
    expected = {"params": 0, "mults": channels * len(per_channel),
                "adds": channels * sum(w - 1 for w in per_channel), "activations": 0}
    assert_counts(row_counts(row), expected, claim="flops.pooling_and_elementwise_counts",
                  what=f"{cls.__name__}({outs}) on {(channels, *sizes)}, windows {windows}")


POOL_FUNCTIONS = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


@pytest.mark.slow
@pytest.mark.claim("flops.pooling_and_elementwise_counts", "flops.conv_output_size",
                   kind="implementation")
@given(axes=st.sampled_from([1, 2, 3]), form=st.sampled_from(["int", "one", "all"]),
       batched=st.booleans(), k=st.integers(1, 3), channels=st.integers(1, 3), data=st.data())
@example(axes=2, form="one", batched=False, k=3, channels=2, data=None)  # the 3×3 of [3]
def test_counter_average_pooling_pools_every_axis_of_a_one_element_kernel(
        axes, form, batched, k, channels, data):
    """F.avg_pool{1,2,3}d with kernel_size k, [k] or (k, …, k), on a batched (N, C, …) or
    unbatched (C, …) input: torch pools k×…×k either way, so each output costs
    k^axes − 1 additions and 1 multiplication (stride = kernel, the output size
    ⌊(n − k)/k⌋ + 1 of the derivation)."""
    sizes = (3, 4, 5)[:axes] if data is None else tuple(
        k + data.draw(st.integers(0, 4)) for _ in range(axes))
    kernel = {"int": k, "one": [k], "all": (k,) * axes}[form]
    pool = POOL_FUNCTIONS[axes]
    model = Fn(lambda x: pool(x if batched else x[0], kernel))
    (row,) = count(model, (channels, *sizes)).rows
    out = tuple(D.conv_output_size(m, k, k) for m in sizes)
    assert row.output_shape == ((channels, *out) if batched else out), "torch's output shape"
    assert_counts(row_counts(row), D.pool_counts("avg", channels, (k,) * axes, out),
                  claim="flops.pooling_and_elementwise_counts",
                  what=f"avg_pool{axes}d(kernel_size={kernel!r}) on {(channels, *sizes)}, "
                       f"batched={batched}")


@pytest.mark.slow
@pytest.mark.claim("flops.pooling_and_elementwise_counts", kind="implementation")
@given(axes=st.sampled_from([2, 3]), batched=st.booleans(), channels=st.integers(1, 3),
       data=st.data())
def test_counter_adaptive_average_pooling_of_volumes_and_unbatched_inputs(axes, batched,
                                                                         channels, data):
    """Adaptive average pooling in 3-D, and of an unbatched (C, …) input: Σ_outputs (window
    size − 1) additions and 1 multiplication per output, with the windows read off torch's
    1-D kernel per axis (the windows of several axes are their products)."""
    sizes = tuple(data.draw(st.integers(1, 6)) for _ in range(axes))
    outs = tuple(data.draw(st.integers(1, m)) for m in sizes)
    pool = {2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[axes]
    (row,) = count(Fn(lambda x: pool(x if batched else x[0], outs)), (channels, *sizes)).rows
    windows = [adaptive_window_sizes(m, o) for m, o in zip(sizes, outs, strict=True)]
    per_channel = [prod(w) for w in itertools.product(*windows)]
    expected = {"params": 0, "mults": channels * len(per_channel),
                "adds": channels * sum(w - 1 for w in per_channel), "activations": 0}
    assert_counts(row_counts(row), expected, claim="flops.pooling_and_elementwise_counts",
                  what=f"adaptive_avg_pool{axes}d({outs}) on {(channels, *sizes)}, "
                       f"batched={batched}, windows {windows}")


# ----- small random networks, with parallel branches


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


@dataclass
class Net:
    """A drawn network: the torch model and what the formulas say it costs."""

    model: nn.Sequential
    input_shape: tuple[int, ...]
    expected: dict[str, int]


def _add(total: dict[str, int], part: dict[str, int], *, layer: bool = False) -> None:
    """Add a layer's formula counts. A conv's or linear layer's ``activations`` are those of
    the activation module after it (``layer=True`` leaves them to that module)."""
    for f in FIELDS:
        total[f] += 0 if layer and f == "activations" else part[f]


@st.composite
def networks(draw) -> Net:
    """conv [BN] act [pool] blocks, a parallel block, flatten, linear [act] linear.

    The expected counts are the derivations' formulas walked along the drawn layers with the
    derivation's output-size formula: no torch shape enters them.
    """
    axes = draw(st.sampled_from([1, 2]))
    channels = draw(st.integers(1, 4))
    size = tuple(draw(st.integers(6, 12)) for _ in range(axes))
    input_shape = (channels, *size)
    layers: list[nn.Module] = []
    expected = dict.fromkeys(FIELDS, 0)
    conv_cls = nn.Conv1d if axes == 1 else nn.Conv2d
    bn_cls = nn.BatchNorm1d if axes == 1 else nn.BatchNorm2d
    for _ in range(draw(st.integers(1, 2))):
        spec = draw(conv_specs(axes=axes, c_in=channels, max_kernel=3, max_extra=0).filter(
            lambda s, size=size: all(
                D.conv_output_size_by_enumeration(m, kk, s.stride, s.padding, s.dilation) >= 1
                for m, kk in zip(size, s.kernel, strict=True))))
        spec = ConvSpec(**{**spec.__dict__, "in_size": size})
        layers.append(spec.module())
        _add(expected, spec.formula(), layer=True)
        channels, size = spec.c_out, spec.out_size()
        numel = channels * prod(size)
        if draw(st.booleans()):
            layers.append(bn_cls(channels))
            _add(expected, D.batchnorm_counts(channels, numel))
        layers.append(ACTIVATIONS[draw(st.sampled_from(sorted(ACTIVATIONS)))]())
        _add(expected, D.activation_counts(numel))
        if draw(st.booleans()) and min(size) >= 2:
            kind = draw(st.sampled_from(["max", "avg"]))
            pool_cls = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d,
                        ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}[kind, axes]
            stride = draw(st.integers(1, 2))
            layers.append(pool_cls(2, stride=stride))
            out = tuple(D.conv_output_size(m, 2, stride) for m in size)
            _add(expected, D.pool_counts(kind, channels, (2,) * axes, out))
            size = out
    if draw(st.booleans()):  # a parallel block: 'same' convolutions and a max-pool branch
        branches: list[nn.Module] = []
        out_channels = 0
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.sampled_from([1, 3]))
            c_out = draw(st.integers(1, 3))
            bias = draw(st.booleans())
            branches.append(nn.Sequential(conv_cls(channels, c_out, k, padding=k // 2,
                                                   bias=bias), nn.ReLU()))
            _add(expected, D.conv_counts(channels, c_out, (k,) * axes, size, bias=bias),
                 layer=True)
            _add(expected, D.activation_counts(c_out * prod(size)))
            out_channels += c_out
        if draw(st.booleans()):
            pool = (nn.MaxPool1d if axes == 1 else nn.MaxPool2d)(3, stride=1, padding=1)
            branches.append(pool)
            out_channels += channels
        layers.append(Parallel(*branches))
        channels = out_channels
    layers.append(nn.Flatten())
    features = channels * prod(size)
    hidden = draw(st.integers(1, 8))
    classes = draw(st.integers(1, 5))
    bias1, bias2 = draw(st.booleans()), draw(st.booleans())
    layers += [nn.Linear(features, hidden, bias=bias1), nn.ReLU(),
               nn.Linear(hidden, classes, bias=bias2)]
    _add(expected, D.linear_counts(features, hidden, bias=bias1), layer=True)
    _add(expected, D.activation_counts(hidden))
    _add(expected, D.linear_counts(hidden, classes, bias=bias2), layer=True)
    model = nn.Sequential(*layers)
    note(model)
    return Net(model, input_shape, expected)


@pytest.mark.claim("flops.counter_matches_torch", "flops.conv_multiplications",
                   "flops.conv_additions", "flops.conv_activations", "flops.linear_counts",
                   "flops.pooling_and_elementwise_counts", kind="implementation")
@given(net=networks())
def test_counter_totals_on_random_networks_are_formulas_flopcounter_and_numel(net):
    """Totals = Σ formulas over the layers; MACs = FlopCounterMode / 2; P = Σ p.numel()."""
    counts = count(net.model, net.input_shape)
    note(str(counts))
    assert_counts(seed_totals(counts), net.expected, claim="flops.counter_matches_torch",
                  what="totals of a random network")
    assert counts.macs == torch_macs(net.model, net.input_shape)
    assert counts.params == numel_params(net.model)


# ------------------------------------------------------------------ 3. AlexNet (seed 001)


_FLOW_KIND = {"Conv2d": "conv", "MaxPool2d": "maxpool", "AdaptiveAvgPool2d": "avgpool",
              "Linear": "linear"}


def check_alexnet(model: nn.Module) -> None:
    counts = count(model, (3, 227, 227))
    flow = [(_FLOW_KIND[r.kind], r.output_shape) for r in counts.rows if r.kind in _FLOW_KIND]
    assert flow == list(D.ALEXNET_SHAPE_FLOW[1:]), f"not the seed's shape flow:\n{counts}"
    conv, linear = counts.total("macs", ["Conv2d"]), counts.total("macs", ["Linear"])
    assert conv == D.ALEXNET_SEED_CONV_TOTAL == D.alexnet_seed_conv_operations() == 655_566_528
    assert linear == D.ALEXNET_SEED_LINEAR_TOTAL == D.alexnet_seed_linear_operations() \
        == 58_621_952
    assert counts.macs == conv + linear == torch_macs(model, (3, 227, 227))
    assert counts.params == numel_params(model)
    # "linear layers are not compute-heavy": < 1/10 of the conv multiply-adds ...
    assert Fraction(linear, conv) < Fraction(1, 10)
    assert round(float(Fraction(linear, conv)), 4) == 0.0894
    # ... although they hold almost all of the parameters
    share = Fraction(counts.total("params", ["Linear"]), counts.params)
    assert share > Fraction(95, 100), float(share)


@pytest.mark.claim("flops.alexnet_conv_operations", "flops.alexnet_linear_operations",
                   "flops.alexnet_linear_not_compute_heavy", "flops.counter_matches_torch",
                   kind="implementation")
def test_alexnet_conv_and_linear_multiply_adds_are_the_seeds_figures():
    """Seed 001 Problem 2: conv Σ p k² l² n = 655,566,528, linear Σ pq = 58,621,952, counted by
    the counter on the model built in torch (meta device: shapes only, no 61M weights)."""
    with torch.device("meta"):
        model = seed_alexnet()
    check_alexnet(model)


@pytest.mark.nightly
@pytest.mark.claim("flops.alexnet_conv_operations", "flops.alexnet_linear_operations",
                   "flops.alexnet_linear_not_compute_heavy", kind="implementation")
def test_alexnet_counts_on_a_real_cpu_forward_pass():
    """The same on real float32 weights on the CPU (245 MB, a real 0.7 G-MAC forward pass)."""
    check_alexnet(seed_alexnet().to(torch.float32))


# ------------------------------------------------------------------ 4. bottleneck (seed 000)


BUILD = {"I": module_one, "II": module_two}

# Side by side: the seed's printed totals and the totals of the modules as PROBLEMS.md states
# them (1×1 branch 256→128), the latter by hand from the formulas, e.g. Module I parameters
# (256·128 + 128) + (9·256·192 + 192) + (25·256·96 + 96) = 32,896 + 442,560 + 614,496.
#                 module  figure          seed (as written)  stated problem
SIDE_BY_SIDE = [("I", "params", 1_088_924, 1_089_952),
                ("I", "mults", 1_114_636_288, 1_115_684_864),
                ("I", "adds", 1_114_636_288, 1_115_684_864),
                ("I", "activations", 421_888, 425_984),
                ("II", "params", 345_692, 346_720),
                ("II", "mults", 353_370_112, 354_418_688),
                ("II", "adds", 353_370_112, 354_418_688),
                ("II", "activations", 618_496, 622_592)]


def counted(module: str, one_by_one: int):
    with torch.device("meta"):
        model = BUILD[module](one_by_one)
    return model, count(model, (256, 32, 32))


@pytest.mark.slow
@pytest.mark.claim("flops.bottleneck_counts", "flops.counter_matches_torch", kind="implementation")
@pytest.mark.parametrize("module", ["I", "II"])
def test_bottleneck_modules_as_stated_count_to_the_corrected_figures(module):
    """Module I/II as stated: counter = formulas = the hand figures of SIDE_BY_SIDE; the output
    has 128+192+96+256 = 672 (I) and 128+192+96+64 = 480 (II) channels."""
    model, counts = counted(module, 128)
    stated = {f: v for m, f, _seed, v in SIDE_BY_SIDE if m == module}
    assert_counts(seed_totals(counts), stated, claim="flops.bottleneck_counts",
                  what=f"Module {module}, counter vs hand figures")
    assert D.bottleneck_totals(module, 128) == stated
    assert counts.macs == counts.mults == torch_macs(model, (256, 32, 32))
    assert counts.params == numel_params(model)
    width = {"I": 672, "II": 480}[module]
    assert model(torch.zeros(1, 256, 32, 32, device="meta")).shape == (1, width, 32, 32)


@pytest.mark.claim("flops.bottleneck_as_written", kind="implementation")
def test_seed_bottleneck_figures_are_refuted_by_the_stated_modules():
    """Seed 000 Problem 5 as written: every one of its eight totals differs from the stated
    modules' counts (table SIDE_BY_SIDE, both columns)."""
    lines = []
    for module in ("I", "II"):
        _, counts = counted(module, 128)
        for m, f, seed, stated in SIDE_BY_SIDE:
            if m != module:
                continue
            assert D.SEED_BOTTLENECK_TOTALS[module][f] == seed
            ours = counts.total(SEED_TO_COUNTER[f])
            assert ours == stated != seed, (module, f, ours, seed)
            lines.append(f"Module {module} {f}: seed {seed:,} vs stated {stated:,}")
    record_counterexample("flops.bottleneck_as_written", "; ".join(lines))


@pytest.mark.claim("flops.bottleneck_seed_architecture", kind="implementation")
@pytest.mark.parametrize("module", ["I", "II"])
def test_seed_bottleneck_figures_are_the_modules_with_a_124_channel_1x1_branch(module):
    """With the 1×1 branch 256→124 (the seed's '256 → 124') every printed figure is reproduced
    exactly, per layer too; the seed's '×3' line is the two 1×1 reductions plus the pool
    projection (all 256→64), and its + = × is the with-bias convention."""
    _, counts = counted(module, 124)
    assert_counts(seed_totals(counts), D.SEED_BOTTLENECK_TOTALS[module],
                  claim="flops.bottleneck_seed_architecture", what=f"Module {module}, 124")
    assert D.bottleneck_totals(module, 124) == D.SEED_BOTTLENECK_TOTALS[module]
    convs = [r for r in counts.rows if r.kind == "Conv2d"]
    acts = [r for r in counts.rows if r.kind == "ReLU"]
    # group the counter's conv rows like the seed's lines: by (C_in, C_out, k) signature
    groups: dict[tuple, list] = {}
    for conv, act in zip(convs, acts, strict=True):
        key = (conv.params, conv.output_shape)
        groups.setdefault(key, []).append((conv, act))
    ours = sorted((sum(c.params for c, _ in g), (sum(c.adds for c, _ in g),
                                                 sum(c.mults for c, _ in g),
                                                 sum(a.other for _, a in g)))
                  for g in groups.values())
    seeds = sorted((params, ops) for _, params, ops in D.SEED_BOTTLENECK_LAYERS[module])
    assert ours == seeds


@pytest.mark.claim("flops.bottleneck_counts", kind="implementation")
def test_bottleneck_module_costs_about_a_third_of_the_naive_module():
    """The point of Problem 5: II needs ≈ 1/3.15 of I's multiplications and ≈ 1/3.14 of its
    parameters (stated modules)."""
    (_, one), (_, two) = counted("I", 128), counted("II", 128)
    assert 3.1 < one.mults / two.mults < 3.2
    assert 3.1 < one.params / two.params < 3.2


# ------------------------------------------------------------------ 5. operator rules

OP_FIELDS = ("macs", "mults", "adds", "other")


def op_counts(counts) -> dict[str, int]:
    return {f: counts.total(f) for f in OP_FIELDS}


@functools.cache
def formula(name: str, *args) -> dict:
    """A derivation's symbolic formula (``derivations.flops.<name>(*args)``), built once per
    session: a build costs ~30 ms of sympy, and the implementation tests evaluate the same
    formula at every drawn size."""
    return getattr(D, name)(*args)


def formula_at(formula: dict, subs: dict) -> dict[str, int]:
    return {f: int(formula[f].subs(subs)) for f in OP_FIELDS}


class Fn(nn.Module):
    """A module whose forward is one function of its input (functional operations)."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.claim("flops.matmul_counts", kind="symbolic")
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), bias=st.booleans())
def test_matmul_formula_counts_the_terms_of_sympys_matrix_product(n, k, m, bias):
    """Bnkm products and Bnm(k − 1 + β) additions: sympy's A·B (+ C) written out, terms
    counted, at B = 1."""
    assert D.matmul_counts_by_enumeration(n, k, m, bias) == D.matmul_cost(1, n, k, m, bias)


MATMULS = {
    "mm": lambda a, b, c: a[0] @ b[0],
    "bmm": lambda a, b, c: torch.bmm(a, b),
    "addmm": lambda a, b, c: torch.addmm(c[0], a[0], b[0]),
    "baddbmm": lambda a, b, c: torch.baddbmm(c, a, b),
    "matmul-4d": lambda a, b, c: a.unsqueeze(0) @ b.unsqueeze(0),
    "einsum": lambda a, b, c: torch.einsum("bnk,bkm->bnm", a, b),
}


@pytest.mark.slow
@pytest.mark.claim("flops.matmul_counts", "flops.counter_matches_torch", kind="implementation")
@given(op=st.sampled_from(sorted(MATMULS)), batch=st.integers(1, 3), n=st.integers(1, 5),
       k=st.integers(1, 5), m=st.integers(1, 5))
def test_counter_matrix_products_are_the_formula_and_flopcounter(op, batch, n, k, m):
    """mm, bmm, addmm, baddbmm, a 4-D matmul and an einsum: the formula's counts, and
    multiply-adds = FlopCounterMode / 2."""
    b_ = batch if op not in ("mm", "addmm") else 1
    # torch lowers an einsum with an inner length of 1 to an element-wise product (counted
    # as multiplications, 0 multiply-adds, as FlopCounterMode does)
    assume(not (op == "einsum" and k == 1))

    def fn(x):  # x: (batch, n, k + m·k... ) split into the operands
        a = x[..., :k].reshape(batch, n, k)
        b = torch.ones(batch, k, m, device=x.device, dtype=x.dtype)
        c = torch.ones(batch, n, m, device=x.device, dtype=x.dtype)
        return MATMULS[op](a, b, c)

    model = Fn(fn)
    counts = count(model, (batch, n, k))
    bias = op in ("addmm", "baddbmm")
    assert op_counts(counts) == D.matmul_cost(b_, n, k, m, bias), str(counts)
    assert counts.macs == torch_macs(model, (batch, n, k))


@pytest.mark.claim("flops.conv_nd_counts", kind="symbolic")
@given(spec=conv_specs(max_channels=1, max_kernel=2, max_extra=1, axes=3))
def test_conv_nd_formula_counts_the_terms_of_a_written_out_3d_convolution(spec):
    """C_out·O·(C_in/g)·K multiplications, C_out·O·((C_in/g)K − 1 + β) additions: a 3-D
    convolution written out in sympy term by term (1-D and 2-D: the tests above)."""
    enumerated = D.conv_counts_by_enumeration(spec.c_in, spec.c_out, spec.kernel,
                                              spec.in_size, spec.stride, spec.padding,
                                              spec.dilation, spec.groups, spec.bias)
    formula = D.conv_nd_counts(spec.c_in, spec.c_out, spec.kernel, spec.out_size(),
                               groups=spec.groups, bias=spec.bias)
    assert (enumerated["mults"], enumerated["adds"]) == (formula["mults"], formula["adds"])


@st.composite
def conv_nd_specs(draw):
    """1-D/2-D/3-D, grouped or depthwise (groups = C_in), strided, padded, dilated."""
    axes = draw(st.sampled_from([1, 2, 3]))
    depthwise = draw(st.booleans())
    c_in = draw(st.integers(1, 4))
    groups = c_in if depthwise else draw(st.sampled_from([g for g in (1, 2) if c_in % g == 0]))
    c_out = groups * draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(axes))
    stride, padding, dilation = draw(st.integers(1, 2)), draw(st.integers(0, 1)), \
        draw(st.integers(1, 2))
    in_size = tuple(max(1, dilation * (kk - 1) + 1 - 2 * padding) + draw(st.integers(0, 3))
                    for kk in kernel)
    spec = ConvSpec(axes, c_in, c_out, kernel, stride, padding, dilation, groups,
                    draw(st.booleans()), in_size)
    note(spec)
    return spec


@pytest.mark.claim("flops.conv_nd_counts", "flops.counter_matches_torch", kind="implementation")
@given(spec=conv_nd_specs())
def test_counter_nd_convolution_is_the_formula_and_flopcounter(spec):
    cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[spec.axes]
    with torch.device("meta"):
        model = cls(spec.c_in, spec.c_out, spec.kernel, stride=spec.stride,
                    padding=spec.padding, dilation=spec.dilation, groups=spec.groups,
                    bias=spec.bias)
    counts = count(model, (spec.c_in, *spec.in_size))
    expected = D.conv_nd_counts(spec.c_in, spec.c_out, spec.kernel, spec.out_size(),
                                groups=spec.groups, bias=spec.bias)
    assert only_row(counts).output_shape == (spec.c_out, *spec.out_size())
    assert op_counts(counts) == expected
    assert counts.macs == torch_macs(model, (spec.c_in, *spec.in_size))
    assert counts.params == numel_params(model)


@pytest.mark.slow
@pytest.mark.claim("flops.conv_nd_counts", "flops.counter_matches_torch", kind="implementation")
@given(axes=st.sampled_from([1, 2, 3]), groups=st.integers(1, 2), c=st.integers(1, 2),
       k=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 1),
       bias=st.booleans(), size=st.integers(2, 4))
def test_counter_transposed_convolution_is_the_formula_and_flopcounter(axes, groups, c, k,
                                                                       stride, padding,
                                                                       bias, size):
    """C_in·I·(C_out/g)·K products, each scatter-added, plus the bias on every output."""
    cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[axes]
    c_in, c_out = groups * c, groups * (c + 1)
    with torch.device("meta"):
        model = cls(c_in, c_out, k, stride=stride, padding=padding, groups=groups, bias=bias)
    shape = (c_in, *(size,) * axes)
    out = (size - 1) * stride - 2 * padding + k  # ConvTranspose's output length (torch docs)
    assume(out >= 1)
    counts = count(model, shape)
    assert only_row(counts).output_shape == (c_out, *(out,) * axes)
    expected = D.conv_nd_counts(c_in, c_out, (k,) * axes, (out,) * axes, groups=groups,
                                bias=bias, transposed=True, in_size=(size,) * axes)
    assert op_counts(counts) == expected
    assert counts.macs == torch_macs(model, shape)


ELEMENTWISE = {  # name: (module, the formula's kind)
    "add": (lambda: Fn(lambda x: x + x.flip(-1)), "add"),
    "sub-broadcast": (lambda: Fn(lambda x: x - x.mean(dim=-1, keepdim=True).detach()),
                      None),
    "mul": (lambda: Fn(lambda x: x * x), "mul"),
    "div": (lambda: Fn(lambda x: x / 3.0), "function"),
    "relu": (nn.ReLU, "function"), "relu6": (nn.ReLU6, "function"),
    "gelu": (nn.GELU, "function"), "tanh": (nn.Tanh, "function"),
    "sigmoid": (nn.Sigmoid, "function"), "silu": (nn.SiLU, "function"),
    "leaky": (nn.LeakyReLU, "function"), "elu": (nn.ELU, "function"),
    "maxpool": (lambda: nn.MaxPool1d(1), "select"),
}


@pytest.mark.slow
@pytest.mark.claim("flops.elementwise_counts", kind="implementation")
@given(name=st.sampled_from(sorted(ELEMENTWISE)), shape=st.lists(st.integers(1, 5),
                                                                  min_size=1, max_size=3))
def test_counter_elementwise_operations_follow_their_convention(name, shape):
    """One add / mult / other per output element; selections cost nothing; every counted
    operation's output elements are activations."""
    build, kind = ELEMENTWISE[name]
    shape = tuple(shape) if name != "maxpool" else (2, *shape[:1])
    counts = count(build(), shape)
    n = prod(shape)
    if kind is None:  # x − mean(x): a mean (n−1 adds, 1 mult per row) then n subtractions
        last = shape[-1]
        rows = n // last
        expected = {"macs": 0, "mults": rows, "adds": rows * (last - 1) + n, "other": 0}
    else:
        expected = formula_at(D.ELEMENTWISE[kind], {D.N_el: n})
    assert op_counts(counts) == expected, str(counts)
    assert counts.activations >= n


SCALED_ADDITIONS = {  # torch's call: the aten operation and where its alpha arrives
    "rsub": lambda x, alpha: torch.rsub(x, 2.0, alpha=alpha),  # rsub.Scalar, positional
    "add.Scalar": lambda x, alpha: torch.ops.aten.add.Scalar(x, 2.0, alpha),  # positional
    "sub": lambda x, alpha: torch.sub(x, x.flip(-1), alpha=alpha),  # sub.Tensor, keyword
}


@pytest.mark.claim("flops.elementwise_counts", kind="implementation")
@given(name=st.sampled_from(sorted(SCALED_ADDITIONS)), alpha=st.sampled_from([1, 3, 0.5]),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=2))
@example(name="rsub", alpha=3, shape=[2])
@example(name="add.Scalar", alpha=3, shape=[2])
def test_counter_a_scaled_addition_counts_the_scaling_as_multiplications(name, alpha, shape):
    """x + α·y (and its rsub/sub forms): N additions, and N multiplications when α ≠ 1,
    wherever torch passes α (a positional argument of add.Scalar and rsub.Scalar, a keyword
    of sub.Tensor); counted on the meta device (its shape shortcut takes add.Scalar's three
    arguments)."""
    counts = count(Fn(lambda x: SCALED_ADDITIONS[name](x, alpha)), tuple(shape))
    n = prod(shape)
    expected = formula_at(D.ELEMENTWISE["add"], {D.N_el: n})
    if alpha != 1:
        expected = {f: v + int(D.ELEMENTWISE["mul"][f].subs(D.N_el, n))
                    for f, v in expected.items()}
    assert op_counts(counts) == expected, str(counts)
    assert counts.device == "meta"


@pytest.mark.slow
@pytest.mark.claim("flops.elementwise_counts", "flops.pooling_and_elementwise_counts",
                   kind="implementation")
@given(rows=st.integers(1, 3), last=st.integers(1, 4), scale=st.sampled_from([0.5, 2.0]))
def test_counter_an_integer_input_scaled_by_a_float_is_counted_on_meta(rows, last, scale):
    """An integer input times a float (x·0.5, torch's result: floating point) then a mean of
    each row (which torch refuses on integers): N multiplications, then per row n − 1
    additions and 1 multiplication; on the meta device, where the product's dtype must be
    torch's promotion for the mean to run."""
    counts = count(Fn(lambda x: (x * scale).mean(-1)), (rows, last), input_dtype=torch.long)
    n = rows * last
    mean = formula_at(D.MEAN, {D.N_el: rows, D.n_: last})
    expected = {f: v + int(D.ELEMENTWISE["mul"][f].subs(D.N_el, n)) for f, v in mean.items()}
    assert op_counts(counts) == expected, str(counts)
    assert counts.device == "meta", "torch's promoted dtype on the meta copy"


@pytest.mark.slow
@pytest.mark.claim("flops.elementwise_counts", kind="implementation")
@given(rows=st.integers(1, 3), cols=st.integers(2, 4))
def test_counter_a_complex_scalar_product_keeps_torchs_layout_on_meta(rows, cols):
    """x·1j on a transposed x: torch's kernel writes the product in x's layout, so
    transposing back gives a contiguous tensor that ``view`` accepts: counted on the meta
    device (the shape shortcut leaves a complex scalar to torch's own meta kernel), N
    multiplications."""
    model = Fn(lambda x: (x.transpose(-1, -2) * 1j).transpose(-1, -2).view(-1))
    counts = count(model, (rows, cols))
    assert op_counts(counts) == formula_at(D.ELEMENTWISE["mul"], {D.N_el: rows * cols})
    assert counts.device == "meta"


@pytest.mark.slow
@pytest.mark.claim("flops.softmax_counts", kind="implementation")
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), data=st.data(),
       log=st.booleans())
def test_counter_softmax_and_log_softmax_follow_their_convention(shape, data, log):
    dim = data.draw(st.integers(0, len(shape)))  # axis of the batched input (0: batch of 1)
    module = nn.LogSoftmax(dim=dim) if log else nn.Softmax(dim=dim)
    counts = count(module, tuple(shape))
    full = (1, *shape)
    n = full[dim]
    formula = D.LOG_SOFTMAX if log else D.SOFTMAX
    assert op_counts(counts) == formula_at(formula, {D.rows_: prod(full) // n, D.n_: n})


@pytest.mark.claim("flops.softmax_counts", kind="implementation")
@pytest.mark.parametrize("log", [False, True])
def test_counter_softmax_of_a_zero_dimensional_tensor_is_one_row_of_one(log):
    """A 0-d tensor's softmax (dim 0 or −1 are allowed) is one row of n = 1 values."""
    module = nn.LogSoftmax(dim=0) if log else nn.Softmax(dim=-1)
    model = nn.Sequential(Fn(lambda x: x.reshape(())), module)
    counts = count(model, (1,))
    assert op_counts(counts) == formula_at(D.LOG_SOFTMAX if log else D.SOFTMAX,
                                           {D.rows_: 1, D.n_: 1}), str(counts)


NORMS = {  # (module, R groups, n values per group) on an input of shape (1, c, length)
    "layer": lambda c, n, affine: (nn.LayerNorm(n, elementwise_affine=affine), c, n),
    "layer-no-bias": lambda c, n, affine: (nn.LayerNorm(n, bias=False), c, n),
    "group": lambda c, n, affine: (nn.GroupNorm(1 if c % 2 else 2, c, affine=affine),
                                   1 if c % 2 else 2, c * n // (1 if c % 2 else 2)),
    "batch-running": lambda c, n, affine: (nn.BatchNorm1d(c, affine=affine), None, None),
    "batch-statistics": lambda c, n, affine: (
        nn.BatchNorm1d(c, affine=affine, track_running_stats=False), c, n),
}


@pytest.mark.slow
@pytest.mark.claim("flops.normalisation_counts", kind="implementation")
@given(kind=st.sampled_from(sorted(NORMS)), c=st.integers(1, 6), length=st.integers(2, 5),
       affine=st.booleans())
def test_counter_normalisations_follow_their_convention(kind, c, length, affine):
    """Statistics over R groups of n: R(3n + βn) +, R(2n + 2 + ωn) ×, R rsqrt; inference
    batch norm: 1 × and 1 + per element."""
    module, rows, n = NORMS[kind](c, length, affine)
    counts = count(module, (c, length))
    weight = module.weight is not None
    bias = getattr(module, "bias", None) is not None
    if rows is None:
        expected = formula_at(D.BATCHNORM_INFERENCE, {D.N_el: c * length})
    else:
        expected = formula_at(D.NORMALISE, {D.rows_: rows, D.n_: n, D.omega: int(weight),
                                            D.beta: int(bias)})
    assert op_counts(counts) == expected, str(counts)
    assert counts.params == numel_params(module)


def _ones(x: torch.Tensor, n: int, present: bool) -> torch.Tensor | None:
    return torch.ones(n, dtype=x.dtype, device=x.device) if present else None


@pytest.mark.slow
@pytest.mark.claim("flops.normalisation_counts", kind="implementation")
@given(kind=st.sampled_from(["group", "batch"]), c=st.integers(1, 4), length=st.integers(2, 4),
       weight=st.booleans(), bias=st.booleans(), data=st.data())
@example(kind="group", c=2, length=2, weight=True, bias=False, data=None)
@example(kind="batch", c=2, length=2, weight=False, bias=True, data=None)
def test_counter_normalisation_with_a_weight_or_a_bias_alone(kind, c, length, weight, bias,
                                                             data):
    """F.group_norm and F.batch_norm on batch statistics with a weight but no bias, or a bias
    but no weight: R(3n + βn) additions and R(2n + 2 + ωn) multiplications, ω and β each
    from its own argument (R = groups or channels, n the values of each)."""
    if kind == "group":
        groups = c if data is None else data.draw(
            st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
        rows, n = groups, c * length // groups
        fn = lambda x: F.group_norm(x, groups, _ones(x, c, weight), _ones(x, c, bias))  # noqa: E731
    else:
        rows, n = c, length
        fn = lambda x: F.batch_norm(x, None, None, _ones(x, c, weight), _ones(x, c, bias),  # noqa: E731
                                    training=True)
    counts = count(Fn(fn), (c, length))
    expected = formula_at(D.NORMALISE, {D.rows_: rows, D.n_: n, D.omega: int(weight),
                                        D.beta: int(bias)})
    assert op_counts(counts) == expected, str(counts)


@pytest.mark.slow
@pytest.mark.claim("flops.normalisation_counts", "flops.elementwise_counts",
                   kind="implementation")
@given(training=st.booleans(), momentum=st.sampled_from([0.0, 0.1]), c=st.integers(1, 4),
       length=st.integers(2, 4))
@example(training=False, momentum=0.1, c=2, length=3)
@example(training=True, momentum=0.0, c=2, length=3)
def test_counter_native_batch_norm_saved_statistics_are_the_cpu_kernels(training, momentum,
                                                                       c, length):
    """torch.native_batch_norm returns the output and the saved mean and 1/std, which torch's
    CPU kernel leaves empty in inference and makes C long each in training; a ReLU over all
    three (concatenated) writes N = C·length, or N + 2C, elements: 1 other each, on the meta
    copy as on the CPU. The batch norm: 1 × and 1 + per element in inference, the statistics
    of C groups of n = length in training."""

    def fn(x):
        w, b = _ones(x, c, True), _ones(x, c, True)
        mean, var = torch.zeros_like(w), torch.ones_like(w)
        out, saved_mean, saved_invstd = torch.native_batch_norm(x, w, b, mean, var, training,
                                                                momentum, 1e-5)
        return torch.cat([out.flatten(), saved_mean, saved_invstd]).relu()

    n = c * length
    if training:
        norm = formula_at(D.NORMALISE, {D.rows_: c, D.n_: length, D.omega: 1, D.beta: 1})
    else:
        norm = formula_at(D.BATCHNORM_INFERENCE, {D.N_el: n})
    relu = formula_at(D.ELEMENTWISE["function"], {D.N_el: n + 2 * c * training})
    expected = {f: norm[f] + relu[f] for f in OP_FIELDS}
    meta, cpu = count(Fn(fn), (c, length)), count(Fn(fn), (c, length), device=None)
    assert (meta.device, cpu.device) == ("meta", "cpu")
    assert op_counts(meta) == op_counts(cpu) == expected, f"{meta}\n{cpu}"
    assert meta.activations == cpu.activations


# torch.export's decompositions turn batch norm into these (an exported program's .module()
# runs them): eval mode, no running statistics, training mode with them; and the op with a
# training flag that the others are functional forms of (torch._native_batch_norm_legit).
EXPORTED_BATCH_NORMS = {
    "no_training": lambda x, w, b, rm, rv, training, momentum:
        torch.ops.aten._native_batch_norm_legit_no_training(x, w, b, rm, rv, momentum, 1e-5),
    "no_stats": lambda x, w, b, rm, rv, training, momentum:
        torch.ops.aten._native_batch_norm_legit.no_stats(x, w, b, training, momentum, 1e-5),
    "legit": lambda x, w, b, rm, rv, training, momentum:
        torch.ops.aten._native_batch_norm_legit(x, w, b, rm, rv, training, momentum, 1e-5),
    "functional": lambda x, w, b, rm, rv, training, momentum:
        torch.ops.aten._native_batch_norm_legit_functional(x, w, b, rm, rv, training,
                                                           momentum, 1e-5),
}


@pytest.mark.claim("flops.normalisation_counts", kind="implementation")
@given(op=st.sampled_from(sorted(EXPORTED_BATCH_NORMS)), training=st.booleans(),
       momentum=st.sampled_from([0.0, 0.1]), weight=st.booleans(), bias=st.booleans(),
       c=st.integers(1, 3), length=st.integers(2, 4))
def test_counter_exported_batch_norm_operations_follow_the_convention(op, training, momentum,
                                                                      weight, bias, c, length):
    """The batch-norm operations of an exported model: on running statistics (no_training,
    or training=False) 1 × and 1 + per element; on batch statistics (no_stats, or
    training=True) R(3n + βn) +, R(2n + 2 + ωn) ×, R other over R = C channels of n values."""
    # no_stats in eval mode (no statistics at all) is not a computation: the meta kernel
    # refuses it and torch's CPU kernel crashes the process; export never makes it
    training = training or op == "no_stats"
    statistics = training and op != "no_training"

    def fn(x):
        rm, rv = torch.zeros(c, dtype=x.dtype, device=x.device), _ones(x, c, True)
        return EXPORTED_BATCH_NORMS[op](x, _ones(x, c, weight), _ones(x, c, bias), rm, rv,
                                        training, momentum)[0]

    counts = count(Fn(fn), (c, length))
    if statistics:
        expected = formula_at(D.NORMALISE, {D.rows_: c, D.n_: length, D.omega: int(weight),
                                            D.beta: int(bias)})
    else:
        expected = formula_at(D.BATCHNORM_INFERENCE, {D.N_el: c * length})
    assert op_counts(counts) == expected, str(counts)
    assert counts.activations == c * length


@pytest.mark.nightly
@pytest.mark.filterwarnings("ignore:.*treespec, LeafSpec.* is deprecated:FutureWarning")
@pytest.mark.claim("flops.normalisation_counts", kind="implementation")
def test_counter_counts_an_exported_batch_norm_model():
    """torch.export of BatchNorm1d in eval mode, in training mode, and without running
    statistics, decomposed to core ATen: the module it gives counts as the layer itself
    (inference: 1 × and 1 + per element; batch statistics: the normalisation formula; the
    training graph also adds 1 to num_batches_tracked). ~3 s of export, hence slow; the
    operations themselves are drawn in the test above."""
    c, length = 3, 4
    x = torch.zeros(1, c, length)
    for training, running in ((False, True), (True, True), (True, False)):
        module = nn.BatchNorm1d(c, track_running_stats=running).train(training)
        exported = torch.export.export(module, (x,)).run_decompositions().module()
        counts = count(exported, (c, length))
        if training:
            expected = formula_at(D.NORMALISE, {D.rows_: c, D.n_: length, D.omega: 1,
                                                D.beta: 1})
            expected["adds"] += running  # num_batches_tracked + 1
        else:
            expected = formula_at(D.BATCHNORM_INFERENCE, {D.N_el: c * length})
        assert op_counts(counts) == expected, f"training={training}, running={running}\n" \
                                              f"{counts}"
        assert counts.params == numel_params(module)


@pytest.mark.slow
@pytest.mark.claim("flops.elementwise_counts", kind="implementation")
@given(num=st.integers(1, 20), dim=st.integers(1, 8), length=st.integers(1, 6))
def test_counter_embedding_lookups_cost_nothing_but_write_their_rows(num, dim, length):
    with torch.device("meta"):
        model = nn.Embedding(num, dim)
    counts = count(model, (length,), input_dtype=torch.long)
    assert op_counts(counts) == dict.fromkeys(OP_FIELDS, 0)
    assert counts.params == num * dim and counts.activations == length * dim


class FirstOutput(nn.Module):
    """A recurrent module's output sequence (its first output)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)[0]


class SDPA(nn.Module):
    def __init__(self, heads: int) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, x):  # x: (1, L, H·d) → q = k = v of shape (1, H, L, d)
        b, length, width = x.shape
        q = x.reshape(b, length, self.heads, width // self.heads).transpose(1, 2)
        return F.scaled_dot_product_attention(q, q, q)


@pytest.mark.claim("flops.attention_counts", kind="symbolic")
@given(length=st.integers(1, 3), source=st.integers(1, 3), d=st.integers(1, 3))
def test_attention_products_are_two_matrix_products(length, source, d):
    """BH(LSd + LSd): sympy's Q·Kᵀ (L×d by d×S) and A·V (L×S by S×d) written out."""
    subs = {D.B_: 1, D.L_: length, D.S_: source, D.d_: d}
    products = (D.matmul_counts_by_enumeration(length, d, source, False)["macs"]
                + D.matmul_counts_by_enumeration(length, source, d, False)["macs"])
    assert int(D.attention_formula(2)["macs"].subs(subs)) == products


@pytest.mark.slow
@pytest.mark.claim("flops.attention_counts", "flops.counter_matches_torch",
                   kind="implementation")
@given(heads=st.integers(1, 3), length=st.integers(1, 6), d=st.integers(1, 4))
def test_counter_sdpa_fused_and_decomposed_is_the_formula(heads, length, d):
    """F.scaled_dot_product_attention: on meta (torch's math decomposition) and on the CPU
    (one fused kernel, _scaled_dot_product_flash_attention_for_cpu) the same counts, equal
    to the formula; FlopCounterMode counts the decomposition's products."""
    model, shape = SDPA(heads), (length, heads * d)
    expected = formula_at(formula("attention_formula", 2),
                          {D.B_: heads, D.L_: length, D.S_: length, D.d_: d})
    meta, cpu = count(model, shape), count(model, shape, device=None)
    assert "aten._scaled_dot_product_flash_attention_for_cpu" in cpu.rows[0].ops
    assert op_counts(meta) == op_counts(cpu) == expected
    assert meta.macs == torch_macs(model.to("meta"), shape)


@pytest.mark.claim("flops.encoder_layer_counts", kind="symbolic")
def test_encoder_layer_products_are_the_closed_form():
    """Σ over the layer's operations of their rules' multiply-adds = 4LE² + 2L²E + 2LEF,
    for all L, E, F, H (sympy, symbolic sizes)."""
    assert sp.simplify(D.encoder_layer_formula()["macs"] - D.ENCODER_MACS) == 0


@pytest.mark.slow
@pytest.mark.claim("flops.encoder_layer_counts", "flops.attention_counts",
                   "flops.normalisation_counts", kind="implementation")
@given(length=st.integers(1, 4), heads=st.integers(1, 3), d=st.integers(1, 3),
       ff=st.integers(1, 6))
def test_counter_encoder_layer_fast_and_slow_path_are_the_closed_form(length, heads, d, ff):
    """nn.TransformerEncoderLayer on meta (slow path: MHA, LayerNorm, Linear, ReLU) and on
    the CPU in eval mode (one fused _transformer_encoder_layer_fwd): every operation column
    equals the sum of the rules, and the products equal 4LE² + 2L²E + 2LEF."""
    from tests.zoo import EncoderLayer

    width = heads * d
    model = EncoderLayer(width, heads, ff)
    meta, cpu = count(model, (length, width)), count(model, (length, width), device=None)
    fused = any("aten._transformer_encoder_layer_fwd" in r.ops for r in cpu.rows)
    assert fused == (heads % 2 == 0)  # torch takes the fast path for an even head count only
    subs = {D.L_: length, D.E_: width, D.H_: heads, D.F_: ff}
    assert op_counts(meta) == op_counts(cpu) == formula_at(formula("encoder_layer_formula"), subs)
    assert meta.macs == int(D.ENCODER_MACS.subs(subs))
    assert meta.params == numel_params(model)


@pytest.mark.claim("flops.lstm_counts", kind="symbolic")
@given(layers=st.integers(1, 4), bias=st.booleans())
def test_lstm_closed_form_is_the_sum_of_its_cells(layers, bias):
    """Σ over Λ layers and T steps of the cell's rule (layer 1 reads I, the others H) equals
    the closed form, for symbolic T, I, H: products 4TH(I + H) + 8(Λ − 1)TH²."""
    closed = D.lstm_formula()
    by_layer = [D.lstm_cell_formula(D.I_in if layer == 0 else D.H_) for layer in range(layers)]
    for f in OP_FIELDS:
        summed = D.T_ * sum(cell[f] for cell in by_layer)
        assert sp.expand(summed - closed[f].subs(D.Lam, layers)) == 0, f
    assert sp.expand(closed["macs"].subs(D.Lam, layers) - D.LSTM_MACS.subs(D.Lam, layers)) == 0


@pytest.mark.slow
@pytest.mark.claim("flops.lstm_counts", kind="implementation")
@given(steps=st.integers(1, 3), features=st.integers(1, 5), hidden=st.integers(1, 5),
       layers=st.integers(1, 2), bias=st.booleans())
def test_counter_lstm_decomposed_and_onednn_are_the_closed_form(steps, features, hidden,
                                                                layers, bias):
    """nn.LSTM on meta (a cell per step: addmm, sigmoid, tanh, mul, add) and on the CPU (in
    float64, the suite's default, also decomposed; float32 runs oneDNN's fused layer, tested
    below) count the same, the closed form."""
    from tests.zoo import LSTMModel

    model = LSTMModel(features, hidden, layers, bias)
    meta, cpu = count(model, (steps, features)), count(model, (steps, features), device=None)
    subs = {D.T_: steps, D.I_in: features, D.H_: hidden, D.Lam: layers, D.beta: int(bias)}
    assert op_counts(meta) == op_counts(cpu) == formula_at(formula("lstm_formula"), subs)
    # FlopCounterMode on the float64 CPU model (decomposed there too; 5× faster than on meta)
    assert meta.macs == torch_macs(model, (steps, features))
    assert meta.params == numel_params(model)


@pytest.mark.claim("flops.matmul_counts", kind="implementation")
@pytest.mark.parametrize("cls", [nn.GRU, nn.RNN])
def test_counter_gru_and_rnn_count_their_products(cls):
    """GRU/RNN cells decompose into addmm and element-wise operations: all counted; the
    products are 3H(I + H) (GRU) or H(I + H) (RNN) per step, = FlopCounterMode / 2."""
    steps, features, hidden = 3, 4, 5
    model = FirstOutput(cls(features, hidden, batch_first=True))
    counts = count(model, (steps, features))
    gates = 3 if cls is nn.GRU else 1
    assert counts.macs == steps * gates * hidden * (features + hidden)
    assert counts.macs == torch_macs(model.to("meta"), (steps, features))


# ------------------------------------------------------------------ 6. the zoo: published figures

# torchvision's model metadata (torchvision/models/*.py, shown in its model docs as "Params"
# and "GFLOPS"; its GFLOPS are multiply-adds of the products): (num_params, _ops in G).
PUBLISHED = {
    "resnet18": (11_689_512, "1.814"),
    "resnet50": (25_557_032, "4.089"),
    "vgg16": (138_357_544, "15.47"),
    "alexnet": (61_100_840, "0.714"),
    "vit_b_16": (86_567_656, "17.564"),
}


@pytest.mark.claim("flops.published_model_figures", "flops.counter_matches_torch",
                   kind="implementation")
@pytest.mark.parametrize("name", [
    "alexnet", "resnet18", "vgg16",
    # nightly: ResNet-50's rules are ResNet-18's (conv, batch norm, ReLU, pooling, residual,
    # Linear; its 1×1 convolutions are drawn by the conv-row test), ViT-B/16's are the ViT
    # block's, checked at full size against the encoder's closed form in the CI tier
    pytest.param("resnet50", marks=pytest.mark.nightly),
    pytest.param("vit_b_16", marks=pytest.mark.nightly),
])
def test_zoo_model_counts_are_torchvisions_published_figures(name):
    """Parameters exactly; multiply-adds rounded to the published digits; and = FlopCounterMode
    / 2 (every product of these models is a conv or a matrix product it counts)."""
    from tests.zoo import ZOO, build

    params, gmacs = PUBLISHED[name]
    model = build(name)
    counts = count(model, ZOO[name].input_shape)
    assert counts.params == params == numel_params(model)
    digits = len(gmacs.split(".")[1])
    assert f"{counts.macs / 1e9:.{digits}f}" == gmacs, counts.macs
    assert counts.macs == torch_macs(model, ZOO[name].input_shape)


@pytest.mark.claim("flops.encoder_layer_counts", "flops.lstm_counts", "flops.attention_counts",
                   kind="implementation")
def test_zoo_sequence_models_are_their_closed_forms():
    """The zoo's encoder layer (L=128, E=512, F=2048), LSTM (T=32, I=64, H=128, 2 layers) and
    ViT block (tensor attention, L=197, E=768, F=3072: the encoder's closed form too)."""
    from tests.zoo import ZOO, build

    enc = count(build("encoder_layer"), ZOO["encoder_layer"].input_shape)
    assert enc.macs == int(D.ENCODER_MACS.subs({D.L_: 128, D.E_: 512, D.F_: 2048}))
    lstm = count(build("lstm"), ZOO["lstm"].input_shape)
    assert lstm.macs == int(D.LSTM_MACS.subs({D.T_: 32, D.I_in: 64, D.H_: 128, D.Lam: 2}))
    vit = count(build("vit_block"), ZOO["vit_block"].input_shape)
    assert vit.macs == int(D.ENCODER_MACS.subs({D.L_: 197, D.E_: 768, D.F_: 3072}))


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Linear(4, 4)

    def forward(self, x):
        return F.relu(x + self.f(x))


@pytest.mark.slow
@pytest.mark.claim("flops.elementwise_counts", kind="implementation")
def test_residual_and_functional_operations_land_on_the_row_of_the_module_running_them():
    """A residual ``x + y`` and an ``F.relu`` in a block's forward: on the block's row; the
    Linear's addmm on the Linear's row; ResNet-18's in-place residuals on each block's row."""
    from tests.zoo import build

    rows = {r.name: r for r in count(Block(), (4,)).rows}
    assert rows["Block"].ops == ("aten.add", "aten.relu")
    assert (rows["Block"].adds, rows["Block"].other) == (4, 4)
    assert rows["f"].ops == ("aten.addmm",) and rows["f"].macs == 16
    resnet = {r.name: r for r in count(build("resnet18"), (3, 224, 224)).rows}
    assert resnet["layer1.0"].ops == ("aten.add_",)
    assert resnet["layer1.0"].adds == 64 * 56 * 56
    assert resnet["layer1.0.relu (call 2)"].other == 64 * 56 * 56


@pytest.mark.claim("flops.counter_matches_torch", kind="implementation")
def test_tied_weights_are_counted_once():
    """Two modules sharing one weight (tied embedding and output projection): parameters
    counted once, at the first module using them (= Σ over model.parameters())."""
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    model = nn.Sequential(emb, head)
    counts = count(model, (3,), input_dtype=torch.long)
    assert counts.params == 40 == numel_params(model)
    assert [r.params for r in counts.rows] == [0, 40, 0]


@pytest.mark.slow
@pytest.mark.claim("flops.counter_matches_torch", "flops.elementwise_counts",
                   kind="implementation")
@given(p=st.integers(1, 4), q=st.integers(1, 4))
def test_a_forward_hook_on_the_model_is_counted_outside_every_module(p, q):
    """A forward hook of the model itself runs after the model's row is closed: its x·2 (q
    multiplications) is the row "(outside every module)", which holds no parameters; the
    total parameters stay Σ p.numel()."""
    model = nn.Linear(p, q)
    model.register_forward_hook(lambda m, args, out: out * 2)
    counts = count(model, (p,))
    linear, outside = counts.rows
    assert (outside.name, outside.kind, outside.ops) == ("(outside every module)", "-",
                                                         ("aten.mul",))
    assert {f: getattr(outside, f) for f in OP_FIELDS} == formula_at(D.ELEMENTWISE["mul"],
                                                                    {D.N_el: q})
    assert (outside.params, outside.activations) == (0, q)
    assert counts.params == linear.params == numel_params(model)


class Unused(nn.Module):
    """A Linear p → q the forward uses and one (a → b) it never calls."""

    def __init__(self, p: int, q: int, a: int, b: int) -> None:
        super().__init__()
        self.used, self.unused = nn.Linear(p, q), nn.Linear(a, b)

    def forward(self, x):
        return self.used(x)


class _SumOverAxis(nn.Module):
    """Σ over the last axis of the first ``keep`` columns of each row."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    def forward(self, x):
        return x[..., :self.keep].sum(-1)


@pytest.mark.slow
@given(rows=st.integers(1, 4), keep=st.integers(0, 4))
def test_counter_a_sum_of_n_values_takes_n_minus_one_additions_and_of_none_none(rows, keep):
    """Each of the ``rows`` outputs sums ``keep`` values: max(keep − 1, 0) additions each (an
    empty axis sums to 0 with no addition), on meta and on the CPU."""
    for device in ("meta", None):
        counts = count(_SumOverAxis(keep), (rows, 4), device=device)
        assert counts.total("adds") == rows * max(keep - 1, 0), str(counts)
        assert counts.total("mults") == counts.total("macs") == 0


@pytest.mark.slow
@pytest.mark.claim("flops.counter_matches_torch", "flops.linear_counts", kind="implementation")
@given(p=st.integers(1, 4), q=st.integers(1, 4), a=st.integers(1, 4), b=st.integers(1, 4))
def test_a_module_the_forward_never_calls_holds_its_parameters_and_nothing_else(p, q, a, b):
    """The never-called Linear a → b is a row "unused (not called)" with its ab + b
    parameters and no operation, output or activation; the totals are the used layer's
    (q activations, the addmm's output) and Σ p.numel()."""
    model = Unused(p, q, a, b)
    counts = count(model, (p,))
    rows = {r.name: r for r in counts.rows}
    unused = rows["unused (not called)"]
    assert (unused.kind, unused.output_shape, unused.ops) == ("Linear", (), ())
    assert unused.params == a * b + b
    assert not unused.is_empty() and unused.activations == 0  # shown: it holds parameters
    assert {f: getattr(unused, f) for f in OP_FIELDS} == dict.fromkeys(OP_FIELDS, 0)
    assert counts.activations == q
    assert counts.params == numel_params(model)


@pytest.mark.slow
@pytest.mark.claim("flops.counter_matches_torch", kind="implementation")
@given(p=st.integers(1, 4), q=st.integers(1, 4), a=st.integers(1, 4), b=st.integers(1, 4))
def test_table_output_column_is_the_shape_torch_returns_or_a_dash(p, q, a, b):
    """The table's output column: each row's output shape as torch's forward returns it
    (batch axis dropped, joined by ×), "-" where there is none: the model's row (its output
    is a sum over the batch, shape (1,) → ()), and a module never called."""
    model = nn.Sequential(Unused(p, q, a, b), Fn(lambda x: x.unsqueeze(-1).expand(-1, q, 2)),
                          Fn(lambda x: x.sum(dim=(1, 2))))
    counts = count(model, (p,))
    with torch.no_grad():  # torch's own shapes: a real forward pass of the model's parts
        x = torch.zeros(1, p)
        shapes = [tuple(m(x).shape[1:]) for m in (model[0], model[:2], model)]
    lines = counts.table(empty_rows=True).splitlines()
    by_name = {line.split()[0]: line.split() for line in lines[3:-2]}
    assert by_name["0.used"][2] == "×".join(map(str, shapes[0])) == str(q)
    assert by_name["1"][2] == "×".join(map(str, shapes[1])) == f"{q}×2"
    assert shapes[2] == ()
    assert by_name["2"][2] == by_name["Sequential"][2] == "-"
    unused = next(line for line in lines if line.startswith("0.unused (not called)"))
    assert unused.split()[4] == "-"


@pytest.mark.slow
def test_resnet18_table_fits_120_columns():
    from tests.zoo import build

    text = count(build("resnet18"), (3, 224, 224)).table()
    lines = text.splitlines()
    assert max(map(len, lines)) <= 120, max(map(len, lines))
    assert lines[1].split() == ["module", "type", "output", "macs", "mults", "adds", "other",
                                "params", "activations"]
    assert lines[-1].split()[:2] == ["total", "1814073344"]
    assert any(line.startswith("layer4.1.conv2 ") for line in lines)


@pytest.mark.slow
def test_count_benchmark_resnet50(benchmark):
    """ResNet-50 at 224×224 on the meta device (issue 16: under 2 s on this machine;
    measured with --benchmark-only, never asserted)."""
    from tests.zoo import build

    model = build("resnet50")
    counts = benchmark(count, model, (3, 224, 224))
    assert counts.params == 25_557_032


# ------------------------------------------------------------------ 7. refusals and bad input


@pytest.mark.conventions
def test_an_operation_without_a_rule_is_refused_naming_it_and_the_module_until_registered():
    from impl import flops

    model = nn.Sequential(nn.Linear(3, 3), Fn(lambda x: torch.cumsum(x, dim=-1)))
    with pytest.raises(flops.UncountedOperation,
                       match=r"no rule for aten\.cumsum .* module '1' \(Fn\).*"
                             r"register_rule\(torch\.ops\.aten\.cumsum"):
        count(model, (3,))
    old = flops.register_rule(torch.ops.aten.cumsum,
                              lambda args, kwargs, out: {"adds": out.numel() - 1})
    try:
        assert old is None
        counts = count(model, (3,))
        assert counts.rows[-1].adds == 2 and counts.rows[-1].ops == ("aten.cumsum",)
    finally:
        del flops.RULES[torch.ops.aten.cumsum]


@pytest.mark.conventions
@pytest.mark.parametrize("op, rule, error, match", [
    ("not an op", None, TypeError, "op must be an aten operation"),
    (torch.ops.aten.cumsum, 3, TypeError, "rule must be callable"),
])
def test_register_rule_rejects_what_is_not_an_operation_or_a_rule(op, rule, error, match):
    from impl.flops import register_rule

    with pytest.raises(error, match=match):
        register_rule(op, rule)


@pytest.mark.conventions
def test_a_rule_returning_garbage_is_refused_naming_the_operation():
    from impl import flops

    flops.register_rule(torch.ops.aten.cumsum, lambda args, kwargs, out: {"adds": 0.5})
    try:
        with pytest.raises(ValueError, match=r"rule for aten\.cumsum returned adds=0\.5"):
            count(Fn(lambda x: torch.cumsum(x, 0)), (3,))
    finally:
        del flops.RULES[torch.ops.aten.cumsum]


@pytest.mark.conventions
def test_an_operation_returning_no_tensor_writes_no_activations():
    """activations are the elements of the tensors the counted operations write: torch.equal
    (registered here as free of arithmetic) returns a bool, no tensor, so the count's
    activations are the ReLU's 3 alone."""
    from impl import flops

    def forward(x):
        y = x.relu()
        return y if torch.equal(y, y) else -y

    old = flops.register_rule(torch.ops.aten.equal, lambda args, kwargs, out: {})
    try:
        assert old is None
        counts = count(Fn(forward), (3,), device=None)
        assert counts.rows[0].ops == ("aten.equal", "aten.relu")
        assert counts.activations == 3 and counts.other == 3
    finally:
        del flops.RULES[torch.ops.aten.equal]


@pytest.mark.conventions
@pytest.mark.parametrize("what, kinds, error, match", [
    ("name", None, ValueError, r"what must be one of \('macs'"),
    ("flops", None, ValueError, r"what must be one of .*got 'flops'"),
    (3, None, ValueError, r"what must be one of .*got 3"),
    ("macs", "Linear", TypeError, r"kinds must be a sequence of module type names, got "
                                  r"'Linear'"),
    ("macs", [nn.Linear], TypeError, r"kinds must be a sequence of module type names"),
])
def test_counts_total_rejects_an_unknown_column_or_kinds_that_are_not_names(what, kinds,
                                                                            error, match):
    """total(what, kinds): what is a column name; kinds a sequence of type names (a bare
    string would be read character by character)."""
    counts = count(nn.Linear(3, 2), (3,))
    with pytest.raises(error, match=match):
        counts.total(what, kinds)
    assert counts.total("macs", ["Linear"]) == counts.total("macs") == 6
    assert counts.total("macs", ["Conv2d"]) == 0


@pytest.mark.conventions
@pytest.mark.parametrize("shape, error, match", [
    ((3, -1, 8), ValueError, r"input_shape\[1\] must be a positive size, got -1"),
    ((3, 0, 8), ValueError, r"input_shape\[1\] must be a positive size, got 0"),
    ((3, 8.0, 8), TypeError, r"input_shape\[1\] must be an int"),
    ((), TypeError, "non-empty tuple"),
    ("3x8x8", TypeError, "non-empty tuple"),
    ((4, 8, 8), ValueError, r"rejects an input of shape \(4, 8, 8\).*layer '0' \(Conv2d\)"),
    ((3, 2, 2), ValueError, r"rejects an input of shape \(3, 2, 2\).*layer '0' \(Conv2d\)"),
    ((3, 9, 9), ValueError, r"rejects .*layer '3' \(Linear\)"),
])
def test_count_rejects_bad_input_shapes_naming_the_layer(shape, error, match):
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 2))
    with pytest.raises(error, match=match):
        count(model, shape)


@pytest.mark.conventions
@pytest.mark.parametrize("kwargs, error, match", [
    ({"model": lambda x: x}, TypeError, r"model must be a torch\.nn\.Module, got function"),
    ({"model": None}, TypeError, r"model must be a torch\.nn\.Module, got NoneType"),
    ({"input_dtype": "float32"}, TypeError, r"input_dtype must be a torch\.dtype"),
    ({"device": "cuda"}, ValueError, r"device must be 'meta' or None"),
])
def test_count_rejects_bad_arguments_naming_them(kwargs, error, match):
    args = {"model": nn.Linear(3, 2), "input_shape": (3,), **kwargs}
    with pytest.raises(error, match=match):
        count(args.pop("model"), args.pop("input_shape"), **args)


@pytest.mark.conventions
def test_count_rejects_a_model_on_several_devices():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2).to("meta"))
    with pytest.raises(ValueError, match=r"one device, found several: cpu \(parameter "
                                         r"'0\.weight'\), meta \(parameter '1\.weight'\)"):
        count(model, (3,))


def _snapshot(model: nn.Module) -> dict:
    return {
        "training": [m.training for m in model.modules()],
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "devices": [p.device for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "hooks": [(dict(m._forward_hooks), dict(m._forward_pre_hooks)) for m in model.modules()],
        "ids": [id(p) for p in model.parameters()],
    }


def _assert_unchanged(before: dict, model: nn.Module) -> None:
    after = _snapshot(model)
    for key in ("training", "devices", "requires_grad", "hooks", "ids"):
        assert after[key] == before[key], key
    for k, v in before["state"].items():
        assert torch.equal(after["state"][k], v), k


@pytest.mark.conventions
@pytest.mark.parametrize("shape", [(3, 8, 8), (4, 8, 8)], ids=["counts", "forward-raises"])
@pytest.mark.parametrize("device", ["meta", None])
def test_count_never_changes_the_model(shape, device):
    """Training mode, parameters, buffers (BatchNorm running statistics), requires_grad,
    devices and the user's own hooks are as before, also when the forward raises."""
    seen = []
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(72, 2))
    model.train()
    model[1].register_forward_hook(lambda m, a, o: seen.append(1))
    before = _snapshot(model)
    try:
        count(model, shape, device=device)
    except ValueError:
        assert shape == (4, 8, 8)
    _assert_unchanged(before, model)
    calls = len(seen)  # the copy ran the user's hook too: hooks can be part of the computation
    assert model(torch.ones(2, 3, 8, 8)).shape == (2, 2)  # still a working model with its hook
    assert len(seen) == calls + 1


class OneDNNLSTMLayer(nn.Module):
    """One LSTM layer through oneDNN's fused CPU kernel, called directly: nn.LSTM takes that
    path for float32 only, and the suite's default dtype is float64."""

    def __init__(self, features: int, hidden: int, bias: bool) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, bias=bias)
        self.hidden, self.bias = hidden, bias

    def forward(self, x):  # x: (1, T, I) read as T steps of one sequence
        steps = x.transpose(0, 1)
        w = self.lstm
        zeros = torch.zeros(1, self.hidden, dtype=x.dtype, device=x.device)
        b_ih = w.bias_ih_l0 if self.bias else torch.zeros_like(w.weight_ih_l0[:, 0])
        b_hh = w.bias_hh_l0 if self.bias else torch.zeros_like(w.weight_hh_l0[:, 0])
        return torch.ops.aten.mkldnn_rnn_layer(
            steps, w.weight_ih_l0, w.weight_hh_l0, b_ih, b_hh, zeros, zeros, False, [], 2,
            self.hidden, 1, self.bias, False, False, False)[0]


@pytest.mark.slow
@pytest.mark.claim("flops.lstm_counts", kind="implementation")
@given(steps=st.integers(1, 4), features=st.integers(1, 5), hidden=st.integers(1, 5),
       bias=st.booleans())
def test_counter_onednn_lstm_kernel_is_the_closed_form(steps, features, hidden, bias):
    """aten.mkldnn_rnn_layer, the CPU's fused LSTM layer, counts as Λ = 1 of the closed form
    (the decomposed cell's count)."""
    model = OneDNNLSTMLayer(features, hidden, bias).float()  # oneDNN runs float32 only
    counts = count(model, (steps, features), device=None)
    assert any("aten.mkldnn_rnn_layer" in r.ops for r in counts.rows)
    subs = {D.T_: steps, D.I_in: features, D.H_: hidden, D.Lam: 1, D.beta: int(bias)}
    assert op_counts(counts) == formula_at(formula("lstm_formula"), subs)
