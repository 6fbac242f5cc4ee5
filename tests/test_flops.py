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

from dataclasses import dataclass
from fractions import Fraction
from math import prod

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, note
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from derivations import flops as D
from dlmath_verify.checks import record_counterexample
from dlmath_verify.symbolic import prove_identity
from impl.flops import count

FIELDS = ("params", "mults", "adds", "activations")


def torch_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FlopCounterMode's total for one example, halved (it counts a multiply-add as 2)."""
    p = next(model.parameters(), None)
    x = torch.zeros((1, *input_shape), device=p.device if p is not None else None,
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
    return {f: getattr(row, f) for f in FIELDS}


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


@pytest.mark.claim("flops.conv_output_size")
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
                   "flops.conv_additions", "flops.conv_activations")
@given(spec=conv_specs(max_channels=2, max_kernel=3, max_extra=3))
def test_conv_closed_forms_count_the_terms_of_the_written_out_sums(spec):
    """P = C_out(C_in/g)k_hk_w + βC_out, M = C_outH_oW_o(C_in/g)k_hk_w,
    A = C_outH_oW_o((C_in/g)k_hk_w − 1 + β): each output written out in sympy and counted."""
    enumerated = D.conv_counts_by_enumeration(spec.c_in, spec.c_out, spec.kernel,
                                              spec.in_size, spec.stride, spec.padding,
                                              spec.dilation, spec.groups, spec.bias)
    assert enumerated == spec.formula(), (enumerated, spec.formula())


@pytest.mark.claim("flops.linear_counts")
@given(p=st.integers(1, 6), q=st.integers(1, 6), bias=st.booleans())
def test_linear_closed_forms_count_the_terms_of_the_written_out_sums(p, q, bias):
    """P = pq + βq, M = pq, A = q(p − 1 + β), S = q, against y_j = Σ_i W_ji x_i (+ b_j)."""
    assert D.linear_counts_by_enumeration(p, q, bias) == D.linear_counts(p, q, bias=bias)


@pytest.mark.claim("flops.conv_multiplications", "flops.conv_additions",
                   "flops.alexnet_conv_operations")
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
                   "flops.counter_matches_torch")
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


@pytest.mark.claim("flops.linear_counts", "flops.counter_matches_torch")
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


@pytest.mark.claim("flops.pooling_and_elementwise_counts", "flops.conv_output_size")
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


@pytest.mark.claim("flops.pooling_and_elementwise_counts")
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


# ----- small random networks, with parallel branches


class Parallel(nn.Module):
    """Branches applied to the same input, outputs concatenated along the channels."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


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
                   "flops.pooling_and_elementwise_counts")
@given(net=networks())
def test_counter_totals_on_random_networks_are_formulas_flopcounter_and_numel(net):
    """Totals = Σ formulas over the layers; MACs = FlopCounterMode / 2; P = Σ p.numel()."""
    counts = count(net.model, net.input_shape)
    note(str(counts))
    assert_counts(counts.totals(), net.expected, claim="flops.counter_matches_torch",
                  what="totals of a random network")
    assert counts.macs == torch_macs(net.model, net.input_shape)
    assert counts.params == numel_params(net.model)


# ------------------------------------------------------------------ 3. AlexNet (seed 001)


def alexnet() -> nn.Sequential:
    """AlexNet with the seed's shape flow at 3×227×227 (001 Problem 2): conv 11×11 stride 4
    without padding (227 → 55; torchvision's padding 2 gives 56 at 227)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(),
        nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
        nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, 1000),
    )


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
                   "flops.alexnet_linear_not_compute_heavy", "flops.counter_matches_torch")
def test_alexnet_conv_and_linear_multiply_adds_are_the_seeds_figures():
    """Seed 001 Problem 2: conv Σ p k² l² n = 655,566,528, linear Σ pq = 58,621,952, counted by
    the counter on the model built in torch (meta device: shapes only, no 61M weights)."""
    with torch.device("meta"):
        model = alexnet()
    check_alexnet(model)


@pytest.mark.slow
@pytest.mark.claim("flops.alexnet_conv_operations", "flops.alexnet_linear_operations",
                   "flops.alexnet_linear_not_compute_heavy")
def test_alexnet_counts_on_a_real_cpu_forward_pass():
    """The same on real float32 weights on the CPU (245 MB, a real 0.7 G-MAC forward pass)."""
    check_alexnet(alexnet().to(torch.float32))


# ------------------------------------------------------------------ 4. bottleneck (seed 000)


def conv_act(c_in: int, c_out: int, k: int) -> nn.Sequential:
    """Every convolution has a bias, 'same' padding and an activation (PROBLEMS.md)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=True), nn.ReLU())


def module_one(one_by_one: int = 128) -> Parallel:
    """Module I (naive): 1×1 256→128 | 3×3 256→192 | 5×5 256→96 | 3×3 max-pool, concatenated."""
    return Parallel(conv_act(256, one_by_one, 1), conv_act(256, 192, 3), conv_act(256, 96, 5),
                    nn.MaxPool2d(3, stride=1, padding=1))


def module_two(one_by_one: int = 128) -> Parallel:
    """Module II (bottleneck): 1×1 256→128 | 1×1 256→64, 3×3 64→192 | 1×1 256→64, 5×5 64→96 |
    3×3 max-pool, 1×1 256→64, concatenated."""
    return Parallel(
        conv_act(256, one_by_one, 1),
        nn.Sequential(conv_act(256, 64, 1), conv_act(64, 192, 3)),
        nn.Sequential(conv_act(256, 64, 1), conv_act(64, 96, 5)),
        nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_act(256, 64, 1)),
    )


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


@pytest.mark.claim("flops.bottleneck_counts", "flops.counter_matches_torch")
@pytest.mark.parametrize("module", ["I", "II"])
def test_bottleneck_modules_as_stated_count_to_the_corrected_figures(module):
    """Module I/II as stated: counter = formulas = the hand figures of SIDE_BY_SIDE; the output
    has 128+192+96+256 = 672 (I) and 128+192+96+64 = 480 (II) channels."""
    model, counts = counted(module, 128)
    stated = {f: v for m, f, _seed, v in SIDE_BY_SIDE if m == module}
    assert_counts(counts.totals(), stated, claim="flops.bottleneck_counts",
                  what=f"Module {module}, counter vs hand figures")
    assert D.bottleneck_totals(module, 128) == stated
    assert counts.macs == counts.mults == torch_macs(model, (256, 32, 32))
    assert counts.params == numel_params(model)
    width = {"I": 672, "II": 480}[module]
    assert model(torch.zeros(1, 256, 32, 32, device="meta")).shape == (1, width, 32, 32)


@pytest.mark.claim("flops.bottleneck_as_written")
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
            assert counts.total(f) == stated != seed, (module, f, counts.total(f), seed)
            lines.append(f"Module {module} {f}: seed {seed:,} vs stated {stated:,}")
    record_counterexample("flops.bottleneck_as_written", "; ".join(lines))


@pytest.mark.claim("flops.bottleneck_seed_architecture")
@pytest.mark.parametrize("module", ["I", "II"])
def test_seed_bottleneck_figures_are_the_modules_with_a_124_channel_1x1_branch(module):
    """With the 1×1 branch 256→124 (the seed's '256 → 124') every printed figure is reproduced
    exactly, per layer too; the seed's '×3' line is the two 1×1 reductions plus the pool
    projection (all 256→64), and its + = × is the with-bias convention."""
    _, counts = counted(module, 124)
    assert_counts(counts.totals(), D.SEED_BOTTLENECK_TOTALS[module],
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
                                                 sum(a.activations for _, a in g)))
                  for g in groups.values())
    seeds = sorted((params, ops) for _, params, ops in D.SEED_BOTTLENECK_LAYERS[module])
    assert ours == seeds


@pytest.mark.claim("flops.bottleneck_counts")
def test_bottleneck_module_costs_about_a_third_of_the_naive_module():
    """The point of Problem 5: II needs ≈ 1/3.15 of I's multiplications and ≈ 1/3.14 of its
    parameters (stated modules)."""
    (_, one), (_, two) = counted("I", 128), counted("II", 128)
    assert 3.1 < one.mults / two.mults < 3.2
    assert 3.1 < one.params / two.params < 3.2


# ------------------------------------------------------------------ 5. the table, bad input


@pytest.mark.claim("flops.counter_matches_torch")
def test_count_table_prints_every_layer_and_the_totals():
    counts = count(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(2 * 4 * 4, 3)), (1, 6, 6))
    text = str(counts)
    lines = text.splitlines()
    assert lines[0] == "input 1×6×6 (one example)"
    assert lines[1].split() == ["layer", "type", "output", "params", "mults", "adds",
                                "activations", "macs"]
    body = [line.split() for line in lines[3:-2]]
    assert [(b[0], b[1], b[2]) for b in body] == [("0", "Conv2d", "2×4×4"),
                                                  ("1", "ReLU", "2×4×4"),
                                                  ("2", "Flatten", "32"),
                                                  ("3", "Linear", "3")]
    # conv: 2·9 + 2 = 20 params, 32 outputs × 9; linear: 32·3 + 3 params, 3 × 32
    assert body[0][3:] == ["20", "288", "288", "0", "288"]
    assert lines[-1].split() == ["total", "119", "384", "384", "32", "384"]


class Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.gain


class Square(nn.Module):
    def forward(self, x):
        return x * x


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Linear(4, 4)

    def forward(self, x):
        return x + self.f(x)


class FunctionalRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Linear(4, 4)

    def forward(self, x):
        return F.relu(self.f(x))


@pytest.mark.conventions
@pytest.mark.claim("flops.counter_matches_torch")
@pytest.mark.parametrize("model, match", [
    (nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)), r"'1' of type LayerNorm has 8 param"),
    (nn.Sequential(nn.Linear(4, 4), Scale()), r"'1' of type Scale has 1 parameters"),
    (nn.Sequential(nn.Linear(4, 4), Square()), r"Square\.forward \(module '1'\) computes "
                                               r"aten\.mul"),
    (Residual(), r"Residual\.forward .* computes aten\.add"),
    (FunctionalRelu(), r"FunctionalRelu\.forward .* computes aten\.relu"),
], ids=["LayerNorm", "parameter", "compute-leaf", "residual-add", "functional-relu"])
def test_count_rejects_what_it_cannot_count_naming_it(model, match):
    """Never silently zero: an unknown type with parameters, or arithmetic outside a counted
    layer, is a TypeError naming the module and the operation."""
    with pytest.raises(TypeError, match=match):
        count(model, (4,))


@pytest.mark.conventions
@pytest.mark.claim("flops.conv_output_size")
@pytest.mark.parametrize("shape, error, match", [
    ((3, -1, 8), ValueError, r"input_shape\[1\] must be a positive size, got -1"),
    ((3, 0, 8), ValueError, r"input_shape\[1\] must be a positive size, got 0"),
    ((3, 8.0, 8), TypeError, r"input_shape\[1\] must be an int"),
    ((), TypeError, "non-empty tuple"),
    ((4, 8, 8), ValueError, r"rejects an input of shape \(4, 8, 8\).*layer '0' \(Conv2d\)"),
    ((3, 2, 2), ValueError, r"rejects an input of shape \(3, 2, 2\).*layer '0' \(Conv2d\)"),
    ((3, 9, 9), ValueError, r"rejects .*layer '3' \(Linear\)"),
])
def test_count_rejects_bad_input_shapes_naming_the_layer(shape, error, match):
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 2))
    with pytest.raises(error, match=match):
        count(model, shape)
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        count(lambda x: x, (3,))


@pytest.mark.conventions
@pytest.mark.claim("flops.conv_output_size", "flops.conv_parameters")
@pytest.mark.parametrize("call, match", [
    (lambda: D.conv_output_size(-3, 1), "length must be ≥ 1, got -3"),
    (lambda: D.conv_output_size(4, 3, padding=-1), "padding must be ≥ 0, got -1"),
    (lambda: D.conv_output_size(2, 5), "does not fit"),
    (lambda: D.conv_counts(-2, 4, (3, 3), (5, 5)), "c_in must be ≥ 1, got -2"),
    (lambda: D.conv_counts(4, 6, (3, 3), (5, -5)), r"out_size\[1\] must be ≥ 1, got -5"),
    (lambda: D.conv_counts(4, 6, (3, 3), (5, 5), groups=4), "groups=4 must divide"),
    (lambda: D.linear_counts(3, 0), "out_features must be ≥ 1, got 0"),
])
def test_formulas_reject_negative_and_impossible_sizes(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.claim("flops.counter_matches_torch")
def test_count_leaves_the_model_in_its_mode_and_counts_shared_layers_once():
    """Eval mode for the pass, training flags restored; a layer called twice costs twice but
    its parameters count once (= Σ p.numel())."""
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.BatchNorm1d(3), shared)
    model.train()
    counts = count(model, (3,))
    assert all(m.training for m in model.modules())
    assert [r.name for r in counts.rows] == ["0", "1", "0 (call 2)"]
    assert counts.params == numel_params(model) == 12 + 6
    assert counts.macs == 2 * 9 == torch_macs(model, (3,))
