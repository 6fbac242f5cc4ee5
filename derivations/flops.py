r"""Parameter and operation counts of convolution, linear, pooling and element-wise layers.

Sources: ``000_44446893528eed8a.txt`` Problem 5 (bottleneck convolution: parameters,
additions, multiplications and activations of two Inception-like modules) and
``001_d80f36ddf3b5193b.txt`` Problem 2 (AlexNet: are linear layers compute-heavy?).

Conventions (the units of every count in the suite, and of ``impl/flops.py``):

* **Multiplications** of a conv/linear layer: one per (weight, input) product,
  :math:`(C_{in}/g)\,k_h k_w` per output element. Padded positions count as ordinary
  positions (the course's problem statement of Problem 5).
* **Additions**: summing :math:`n` products takes :math:`n-1` additions, and adding the bias
  one more. With a bias, :math:`(C_{in}/g)\,k_h k_w` additions per output element (so
  additions = multiplications, the seeds' convention); without, :math:`(C_{in}/g)\,k_h k_w-1`.
* **Multiply-adds** (MACs) of a conv/linear layer = its multiplications; this is what
  ``torch.utils.flop_counter.FlopCounterMode`` reports as 2 FLOPs each.
* **Activations**: one per element an element-wise nonlinearity is applied to (a conv
  followed by an activation: :math:`C_{out} H_o W_o`). No multiplications or additions.
* **Pooling** has no parameters. Max pooling: no multiplications, additions or activations
  (its :math:`k_h k_w - 1` comparisons per output are not arithmetic and are not counted).
  Average pooling: :math:`k_h k_w - 1` additions and one multiplication (by
  :math:`1/(k_h k_w)`) per output element.
* **BatchNorm** (as used for inference: a per-channel affine map whose scale and shift are
  precomputed): one multiplication and one addition per element; :math:`2C` parameters
  (γ, β) when affine. Running statistics are buffers, not parameters.
* Flatten, dropout (a no-op at inference) and concatenation cost nothing.

Every builder returns sympy integers (or expressions in the symbols below), never imports
``impl``; the ``*_by_enumeration`` builders write out each output's sum term by term with
distinct sympy symbols and count the terms, the independent derivation of the closed forms.
"""

from __future__ import annotations

from functools import cache
from itertools import product
from math import prod

import sympy as sp

from derivations.registry import claim

SEED_000 = "000_44446893528eed8a.txt"
SEED_001 = "001_d80f36ddf3b5193b.txt"

# --------------------------------------------------------------------------- symbols

C_in, C_out, k_h, k_w, g = sp.symbols("C_in C_out k_h k_w g", integer=True, positive=True)
H_o, W_o, p, q = sp.symbols("H_o W_o p q", integer=True, positive=True)
n, k, s, d = sp.symbols("n k s d", integer=True, positive=True)
pad = sp.Symbol("p_pad", integer=True, nonnegative=True)
beta = sp.Symbol("beta", integer=True, nonnegative=True)  # 1 with a bias, 0 without
l = sp.Symbol("l", integer=True, positive=True)  # the seed's output side length

#: the output length of a convolution or pooling along one axis (torch's formula)
OUTPUT_SIZE = sp.floor((n + 2 * pad - d * (k - 1) - 1) / s) + 1

_PER_OUTPUT = C_in / g * k_h * k_w
CONV = {
    "params": C_out * _PER_OUTPUT + beta * C_out,
    "mults": C_out * H_o * W_o * _PER_OUTPUT,
    "adds": C_out * H_o * W_o * (_PER_OUTPUT - 1 + beta),
    "activations": C_out * H_o * W_o,
}
LINEAR = {
    "params": p * q + beta * q,
    "mults": p * q,
    "adds": q * (p - 1 + beta),
    "activations": q,
}

# --------------------------------------------------------------------------- claims

_P, _M, _A, _S = sp.symbols("P M A S")  # parameters, multiplications, additions, activations

OUTPUT_SIZE_CLAIM = claim(
    "flops.conv_output_size",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 5; {SEED_001} Problem 2 (the shape flow)",
    statement="A conv/pool axis of length n, kernel k, stride s, padding p, dilation d has "
    "⌊(n + 2p − d(k−1) − 1)/s⌋ + 1 outputs.",
    formula=lambda: sp.Eq(sp.Symbol("n_o"), OUTPUT_SIZE),
)
CONV_PARAMS = claim(
    "flops.conv_parameters",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 5 (i)",
    statement="A conv C_in → C_out, kernel k_h × k_w, g groups has C_out·(C_in/g)·k_h·k_w "
    "weights plus C_out biases (β = 1 with bias, 0 without).",
    formula=lambda: sp.Eq(_P, CONV["params"]),
)
CONV_MULTS = claim(
    "flops.conv_multiplications",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 5 (ii); {SEED_001} Problem 2",
    statement="A conv has (C_in/g)·k_h·k_w multiplications per output element "
    "(= its multiply-adds), padded positions counted as ordinary positions.",
    formula=lambda: sp.Eq(_M, CONV["mults"]),
)
CONV_ADDS = claim(
    "flops.conv_additions",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 5 (ii)",
    statement="A conv has (C_in/g)·k_h·k_w additions per output element with a bias and one "
    "fewer without (n products need n − 1 additions, the bias one more).",
    formula=lambda: sp.Eq(_A, CONV["adds"]),
)
CONV_ACTS = claim(
    "flops.conv_activations",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 5 (ii)",
    statement="A conv followed by an element-wise activation costs C_out·H_o·W_o activations.",
    formula=lambda: sp.Eq(_S, CONV["activations"]),
)
LINEAR_CLAIM = claim(
    "flops.linear_counts",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_001} Problem 2",
    statement="A linear layer p → q has pq + βq parameters, pq multiplications (its "
    "multiply-adds), q(p − 1 + β) additions and q activations if followed by one.",
    formula=lambda: sp.Eq(sp.Matrix([_P, _M, _A, _S]), sp.Matrix(list(LINEAR.values()))),
)
POOL_CLAIM = claim(
    "flops.pooling_and_elementwise_counts",
    witnesses=("implementation",),
    source=f"{SEED_000} Problem 5 (the max-pool branch); {SEED_001} Problem 2",
    statement="Pooling has no parameters; max pooling no arithmetic; average pooling "
    "k_h·k_w − 1 additions and 1 multiplication per output; an activation 1 activation per "
    "element; BatchNorm 2C parameters, 1 multiplication and 1 addition per element.",
    formula=lambda: sp.Eq(
        sp.Matrix([sp.Symbol("A_{avg}"), sp.Symbol("M_{avg}")]),
        sp.Matrix([C_out * H_o * W_o * (k_h * k_w - 1), C_out * H_o * W_o]),
    ),
)
COUNTER = claim(
    "flops.counter_matches_torch",
    witnesses=("implementation",),
    source=f"{SEED_000} Problem 5; {SEED_001} Problem 2",
    statement="On any network, the counter's multiply-adds are FlopCounterMode's total / 2 "
    "and its parameters are Σ p.numel(); its per-layer counts are the formulas above.",
    formula=lambda: sp.Eq(sp.Symbol("MACs"), sp.Symbol("FLOPs_{torch}") / 2),
)

# ----- seed 001 Problem 2: AlexNet

#: the seed's shape flow, input to output (C, H, W) or (features,)
ALEXNET_SHAPE_FLOW = (
    ("input", (3, 227, 227)),
    ("conv", (64, 55, 55)),
    ("maxpool", (64, 27, 27)),
    ("conv", (192, 27, 27)),
    ("maxpool", (192, 13, 13)),
    ("conv", (384, 13, 13)),
    ("conv", (256, 13, 13)),
    ("conv", (256, 13, 13)),
    ("maxpool", (256, 6, 6)),
    ("avgpool", (256, 6, 6)),
    ("linear", (4096,)),
    ("linear", (4096,)),
    ("linear", (1000,)),
)
#: the seed's own terms (p, k, l, n) for p·k²·l²·n, and (p, q) for p·q
ALEXNET_SEED_CONV_TERMS = ((3, 11, 55, 64), (64, 5, 27, 192), (192, 3, 13, 384),
                           (384, 3, 13, 256), (256, 3, 13, 256))
ALEXNET_SEED_LINEAR_TERMS = ((9216, 4096), (4096, 4096), (4096, 1000))
ALEXNET_SEED_CONV_TOTAL = 655_566_528
ALEXNET_SEED_LINEAR_TOTAL = 58_621_952

SEED_CONV_OPS = C_in * k**2 * l**2 * C_out  # the seed's "p k² l² n"

ALEXNET_CONV = claim(
    "flops.alexnet_conv_operations",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_001} Problem 2",
    statement="AlexNet at 3×227×227: the convolutions cost 655,566,528 multiply-adds "
    "(Σ p·k²·l²·n).",
    formula=lambda: sp.Eq(
        sp.Add(*[sp.Mul(*map(sp.Integer, (pp, kk**2, ll**2, nn)), evaluate=False)
                 for pp, kk, ll, nn in ALEXNET_SEED_CONV_TERMS], evaluate=False),
        ALEXNET_SEED_CONV_TOTAL,
        evaluate=False,
    ),
)
ALEXNET_LINEAR = claim(
    "flops.alexnet_linear_operations",
    witnesses=("implementation",),
    source=f"{SEED_001} Problem 2",
    statement="AlexNet: the linear layers cost 58,621,952 multiply-adds (Σ p·q).",
    formula=lambda: sp.Eq(
        sp.Add(*[sp.Mul(sp.Integer(a), sp.Integer(b), evaluate=False)
                 for a, b in ALEXNET_SEED_LINEAR_TERMS], evaluate=False),
        ALEXNET_SEED_LINEAR_TOTAL,
        evaluate=False,
    ),
)
ALEXNET_RATIO = claim(
    "flops.alexnet_linear_not_compute_heavy",
    witnesses=("implementation",),
    source=f"{SEED_001} Problem 2",
    statement="Linear layers are not compute-heavy: their multiply-adds are under 1/10 of "
    "the convolutions' (ratio ≈ 0.0894), although they hold ≈ 96% of the parameters.",
    formula=lambda: sp.Lt(
        sp.Rational(ALEXNET_SEED_LINEAR_TOTAL, ALEXNET_SEED_CONV_TOTAL), sp.Rational(1, 10),
        evaluate=False,
    ),
)

# ----- seed 000 Problem 5: the bottleneck modules

#: the seed's printed figures: per layer (name, params, (adds, mults, activations)) and totals
SEED_BOTTLENECK_LAYERS = {
    "I": (
        ("1x1 conv 256->124", 31_868, (32_505_856, 32_505_856, 126_976)),
        ("3x3 conv 256->192", 442_560, (452_984_832, 452_984_832, 196_608)),
        ("5x5 conv 256->96", 614_496, (629_145_600, 629_145_600, 98_304)),
    ),
    "II": (
        ("1x1 conv 256->124", 31_868, (32_505_856, 32_505_856, 126_976)),
        ("1x1 conv 256->64 x3", 49_344, (50_331_648, 50_331_648, 196_608)),
        ("3x3 conv 64->192", 110_784, (113_246_208, 113_246_208, 196_608)),
        ("5x5 conv 64->96", 153_696, (157_286_400, 157_286_400, 98_304)),
    ),
}
SEED_BOTTLENECK_TOTALS = {
    "I": {"params": 1_088_924, "adds": 1_114_636_288, "mults": 1_114_636_288,
          "activations": 421_888},
    "II": {"params": 345_692, "adds": 353_370_112, "mults": 353_370_112,
           "activations": 618_496},
}

_FIELDS = ("params", "mults", "adds", "activations")


def _figure_matrix(totals: dict[str, dict[str, int]]) -> sp.Matrix:
    return sp.Matrix([[totals[m][f] for f in _FIELDS] for m in ("I", "II")])


_FIG = sp.MatrixSymbol("N", 2, 4)  # rows: Module I, II; columns: params, ×, +, σ

BOTTLENECK_CORRECTED = claim(
    "flops.bottleneck_counts",
    witnesses=("implementation",),
    source=f"{SEED_000} Problem 5 (the modules as the problem states them)",
    statement="For the modules as stated (1×1 branch 256→128), rows Module I, II; columns "
    "parameters, multiplications, additions, activations.",
    formula=lambda: sp.Eq(_FIG, _figure_matrix(bottleneck_totals_table(128))),
)
BOTTLENECK_AS_WRITTEN = claim(
    "flops.bottleneck_as_written",
    witnesses=("implementation",),
    source=f"{SEED_000} Problem 5",
    statement="The seed's figures for the modules as stated (rows Module I, II; columns "
    "parameters, multiplications, additions, activations).",
    formula=lambda: sp.Eq(_FIG, _figure_matrix(SEED_BOTTLENECK_TOTALS)),
    verdict="refuted",
    corrected_by="flops.bottleneck_counts",
)
BOTTLENECK_SEED_ARCH = claim(
    "flops.bottleneck_seed_architecture",
    witnesses=("implementation",),
    source=f"{SEED_000} Problem 5",
    statement="The seed's figures are exactly those of the stated modules with the 1×1 branch "
    "256→124 instead of 256→128 (its '×3' line is the two 1×1 reductions plus the pool "
    "projection, all 256→64, which is as stated); every other layer and the convention "
    "(+ = ×, with bias) agree.",
    formula=lambda: sp.Eq(_FIG, _figure_matrix(bottleneck_totals_table(124))),
)


# --------------------------------------------------------------------------- builders


def _require_sizes(**sizes: int) -> None:
    for name, v in sizes.items():
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        minimum = 0 if name == "padding" else 1
        if v < minimum:
            raise ValueError(f"{name} must be ≥ {minimum}, got {v}")


def conv_output_size(length: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """The output length along one axis, from ``OUTPUT_SIZE``; ValueError when below 1."""
    _require_sizes(length=length, kernel=kernel, stride=stride, padding=padding,
                   dilation=dilation)
    out = OUTPUT_SIZE.subs({n: length, k: kernel, s: stride, pad: padding, d: dilation})
    if out < 1:
        raise ValueError(f"kernel {kernel} (dilation {dilation}) does not fit an axis of "
                         f"length {length} with padding {padding}: output length {out}")
    return int(out)


def conv_output_size_by_enumeration(length: int, kernel: int, stride: int, padding: int,
                                    dilation: int) -> int:
    """Count the window positions one by one: starts 0, s, 2s, … of the padded axis whose last
    tap s·i + d(k−1) still lies inside it."""
    padded = length + 2 * padding
    return sum(1 for start in range(0, padded, stride) if start + dilation * (kernel - 1)
               < padded)


def conv_counts(c_in: int, c_out: int, kernel: tuple[int, ...], out_size: tuple[int, ...],
                *, groups: int = 1, bias: bool = True) -> dict[str, int]:
    """The closed forms ``CONV`` at these sizes (1-D: a kernel and output of one axis)."""
    if len(kernel) != len(out_size) or len(kernel) not in (1, 2):
        raise ValueError(f"kernel {kernel} and out_size {out_size} must both have 1 or 2 axes")
    _require_sizes(c_in=c_in, c_out=c_out, groups=groups)
    for i, (kk, oo) in enumerate(zip(kernel, out_size, strict=True)):
        _require_sizes(**{f"kernel[{i}]": kk, f"out_size[{i}]": oo})
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    kh, kw = (*kernel, 1)[:2] if len(kernel) == 1 else kernel
    ho, wo = (*out_size, 1)[:2] if len(out_size) == 1 else out_size
    subs = {C_in: c_in, C_out: c_out, g: groups, k_h: kh, k_w: kw, H_o: ho, W_o: wo,
            beta: int(bias)}
    return {f: int(CONV[f].subs(subs)) for f in _FIELDS}


def linear_counts(in_features: int, out_features: int, *, bias: bool = True,
                  positions: int = 1) -> dict[str, int]:
    """The closed forms ``LINEAR`` at these sizes, times ``positions`` (leading axes)."""
    _require_sizes(in_features=in_features, out_features=out_features, positions=positions)
    subs = {p: in_features, q: out_features, beta: int(bias)}
    out = {f: int(LINEAR[f].subs(subs)) for f in _FIELDS}
    return {f: v if f == "params" else v * positions for f, v in out.items()}


def pool_counts(kind: str, channels: int, kernel: tuple[int, ...],
                out_size: tuple[int, ...]) -> dict[str, int]:
    """Pooling conventions: max → nothing; avg → k−1 additions and 1 multiplication/output."""
    outputs = channels * prod(out_size)
    if kind == "max":
        return dict.fromkeys(_FIELDS, 0)
    if kind == "avg":
        return {"params": 0, "mults": outputs, "adds": outputs * (prod(kernel) - 1),
                "activations": 0}
    raise ValueError(f"pool kind must be 'max' or 'avg', got {kind!r}")


def batchnorm_counts(channels: int, numel: int, *, affine: bool = True) -> dict[str, int]:
    """BatchNorm as an inference-time affine map: 1 × and 1 + per element, 2C parameters."""
    return {"params": 2 * channels * int(affine), "mults": numel, "adds": numel,
            "activations": 0}


def activation_counts(numel: int) -> dict[str, int]:
    """An element-wise nonlinearity: one activation per element, nothing else."""
    return {"params": 0, "mults": 0, "adds": 0, "activations": numel}


@cache
def conv_counts_by_enumeration(c_in: int, c_out: int, kernel: tuple[int, ...],
                               in_size: tuple[int, ...], stride: int = 1, padding: int = 0,
                               dilation: int = 1, groups: int = 1,
                               bias: bool = True) -> dict[str, int]:
    """Write every output of the convolution as a sympy sum and count its terms.

    Each input position (padded ones included, as ordinary positions with their own symbol),
    weight and bias is a distinct symbol, so no two terms merge: an output's multiplications
    are its product terms, its additions the number of terms minus one, and the parameters
    the distinct weight and bias symbols that occur in any output.
    """
    axes = len(kernel)
    padded = tuple(m + 2 * padding for m in in_size)
    outs = [conv_output_size_by_enumeration(m, kk, stride, padding, dilation)
            for m, kk in zip(in_size, kernel, strict=True)]
    per_group_in, per_group_out = c_in // groups, c_out // groups
    x = {(c, *pos): sp.Symbol(f"x_{c}_{'_'.join(map(str, pos))}")
         for c in range(c_in) for pos in product(*map(range, padded))}
    mults = adds = activations = 0
    used: set[sp.Symbol] = set()
    for o in range(c_out):
        grp = o // per_group_out
        b = sp.Symbol(f"b_{o}") if bias else sp.S.Zero
        for out_pos in product(*map(range, outs)):
            terms = []
            for c in range(grp * per_group_in, (grp + 1) * per_group_in):
                for tap in product(*map(range, kernel)):
                    w = sp.Symbol(f"w_{o}_{c}_{'_'.join(map(str, tap))}")
                    at = tuple(out_pos[a] * stride + tap[a] * dilation for a in range(axes))
                    terms.append(w * x[(c, *at)])
            y = sp.Add(*terms) + b
            products = [t for t in y.args if t.is_Mul] if y.is_Add else [y]
            mults += len(products)
            adds += (len(y.args) if y.is_Add else 1) - 1
            activations += 1
            used |= {sym for sym in y.free_symbols if sym.name[0] in "wb"}
    return {"params": len(used), "mults": mults, "adds": adds, "activations": activations}


@cache
def linear_counts_by_enumeration(in_features: int, out_features: int,
                                 bias: bool = True) -> dict[str, int]:
    """y_j = Σ_i W_ji x_i (+ b_j) written out in sympy, terms counted as for the conv."""
    x = sp.symbols(f"x0:{in_features}")
    mults = adds = 0
    used: set[sp.Symbol] = set()
    for j in range(out_features):
        y = sp.Add(*[sp.Symbol(f"w_{j}_{i}") * x[i] for i in range(in_features)])
        y = y + sp.Symbol(f"b_{j}") if bias else y
        terms = y.args if y.is_Add else (y,)
        mults += sum(1 for t in terms if t.is_Mul)
        adds += len(terms) - 1
        used |= {sym for sym in y.free_symbols if sym.name[0] in "wb"}
    return {"params": len(used), "mults": mults, "adds": adds, "activations": out_features}


# ----- the bottleneck modules as the course's problem statement gives them

#: (branch, layers): each layer ("conv", C_in, C_out, k) or ("maxpool", k)
def bottleneck_spec(module: str, one_by_one: int = 128) -> tuple:
    """The branches of Module I or II at 256 channels, 32×32, 'same' padding.

    ``one_by_one`` is the width of the plain 1×1 branch: 128 as stated, 124 as the seed used.
    """
    if module == "I":
        return (
            (("conv", 256, one_by_one, 1),),
            (("conv", 256, 192, 3),),
            (("conv", 256, 96, 5),),
            (("maxpool", 3),),
        )
    if module == "II":
        return (
            (("conv", 256, one_by_one, 1),),
            (("conv", 256, 64, 1), ("conv", 64, 192, 3)),
            (("conv", 256, 64, 1), ("conv", 64, 96, 5)),
            (("maxpool", 3), ("conv", 256, 64, 1)),
        )
    raise ValueError(f"module must be 'I' or 'II', got {module!r}")


def bottleneck_totals(module: str, one_by_one: int = 128, side: int = 32) -> dict[str, int]:
    """Sum of the formulas over the module: every conv has a bias and an activation; the
    max-pool (3×3, stride 1, padding 1) costs nothing under the pooling convention."""
    totals = dict.fromkeys(_FIELDS, 0)
    for branch in bottleneck_spec(module, one_by_one):
        channels = 256
        for layer in branch:
            if layer[0] == "conv":
                _, ci, co, kk = layer
                o = conv_output_size(side, kk, 1, (kk - 1) // 2)
                counts = conv_counts(ci, co, (kk, kk), (o, o), bias=True)
                channels = co
            else:
                o = conv_output_size(side, layer[1], 1, 1)
                counts = pool_counts("max", channels, (layer[1],) * 2, (o, o))
            for f in _FIELDS:
                totals[f] += counts[f]
    return totals


@cache
def bottleneck_totals_table(one_by_one: int) -> dict[str, dict[str, int]]:
    return {m: bottleneck_totals(m, one_by_one) for m in ("I", "II")}


def alexnet_seed_conv_operations() -> int:
    """The seed's Σ p·k²·l²·n, with its own terms, through the formula ``SEED_CONV_OPS``."""
    return int(sum(SEED_CONV_OPS.subs({C_in: a, k: b, l: c, C_out: e})
                   for a, b, c, e in ALEXNET_SEED_CONV_TERMS))


def alexnet_seed_linear_operations() -> int:
    """The seed's Σ p·q with its own terms, through ``LINEAR['mults']``."""
    return int(sum(LINEAR["mults"].subs({p: a, q: b}) for a, b in ALEXNET_SEED_LINEAR_TERMS))


# =========================================================================== operator rules
# The counter (impl/flops.py) counts every aten operation by a rule; each rule's formula is
# stated here, in the columns macs (multiply-adds of products), mults, adds and other (other
# element-wise operations: activation functions, exp, log, division, square roots).

OPS = ("macs", "mults", "adds", "other")

rows_, n_, m_, B_ = sp.symbols("R n m B", integer=True, positive=True)
N_el = sp.Symbol("N", integer=True, positive=True)  # elements of an element-wise output
K_vol, O_vol, I_vol = sp.symbols("K O I", integer=True, positive=True)  # Πk, Πo, Πi
omega = sp.Symbol("omega", integer=True, nonnegative=True)  # 1 with a weight, 0 without
L_, S_, E_, F_, H_, d_ = sp.symbols("L S E F H d", integer=True, positive=True)
T_, I_in, Lam = sp.symbols("T I Lambda", integer=True, positive=True)  # steps, input, layers


def _cost(**kw) -> dict[str, sp.Expr]:
    return {f: sp.sympify(kw.get(f, 0)) for f in OPS}


def _sum(*costs: dict[str, sp.Expr]) -> dict[str, sp.Expr]:
    return {f: sp.expand(sum(c[f] for c in costs)) for f in OPS}


#: B batched products (n × k)(k × m), plus a bias (β = 1) added to each output
MATMUL = _cost(macs=B_ * n_ * k * m_, mults=B_ * n_ * k * m_, adds=B_ * n_ * m_ * (k - 1 + beta))
#: an N-D convolution: output channels C_out, Πo = O output positions, kernel volume K
CONV_ND = _cost(macs=C_out * O_vol * C_in / g * K_vol, mults=C_out * O_vol * C_in / g * K_vol,
                adds=C_out * O_vol * (C_in / g * K_vol - 1 + beta))
#: a transposed convolution: every input element (C_in·I) times (C_out/g)·K taps, each product
#: scatter-added into a zero-initialised output, then the bias on each of C_out·O outputs
CONV_T = _cost(macs=C_in * I_vol * C_out / g * K_vol, mults=C_in * I_vol * C_out / g * K_vol,
               adds=C_in * I_vol * C_out / g * K_vol + beta * C_out * O_vol)
ELEMENTWISE = {"add": _cost(adds=N_el), "mul": _cost(mults=N_el),
               "function": _cost(other=N_el), "select": _cost()}
SOFTMAX = _cost(adds=rows_ * (2 * n_ - 1), other=2 * rows_ * n_)
LOG_SOFTMAX = _cost(adds=rows_ * (3 * n_ - 1), other=rows_ * (n_ + 1))
#: R groups of n values: mean, centre, variance, +ε, rsqrt, scale; then weight (ω), bias (β)
NORMALISE = _cost(adds=rows_ * (3 * n_ + beta * n_), mults=rows_ * (2 * n_ + 2 + omega * n_),
                  other=rows_)
BATCHNORM_INFERENCE = _cost(mults=N_el, adds=N_el)
#: a mean of n values per output (a global average pool), N outputs
MEAN = _cost(adds=N_el * (n_ - 1), mults=N_el)


def matmul_cost(batch: int, rows: int, inner: int, cols: int, bias: bool) -> dict[str, int]:
    return {f: int(MATMUL[f].subs({B_: batch, n_: rows, k: inner, m_: cols, beta: int(bias)}))
            for f in OPS}


def attention_formula(scalings: int) -> dict[str, sp.Expr]:
    """softmax(q kᵀ·scale) v for B·H heads, L queries, S keys, head width d, value width d:
    the scale on q (scalings = 1, MHA with weights) or √scale on q and k (2, SDPA math)."""
    scale = _cost(mults=B_ * d_ * (L_ if scalings == 1 else L_ + S_))
    scores = {f: MATMUL[f].subs({n_: L_, k: d_, m_: S_, beta: 0}) for f in OPS}
    soft = {f: SOFTMAX[f].subs({rows_: B_ * L_, n_: S_}) for f in OPS}
    values = {f: MATMUL[f].subs({n_: L_, k: S_, m_: d_, beta: 0}) for f in OPS}
    return _sum(scale, scores, soft, values)


def encoder_layer_formula() -> dict[str, sp.Expr]:
    """nn.TransformerEncoderLayer (post-norm, ReLU, biases) on one sequence of L tokens of
    width E with H heads of width d = E/H and feed-forward width F, as the sum of its
    operations' rules: in-projection, attention (SDPA math), out-projection, residual,
    LayerNorm, Linear, ReLU, Linear, residual, LayerNorm."""
    def linear(positions, fan_in, fan_out):
        return {f: MATMUL[f].subs({B_: 1, n_: positions, k: fan_in, m_: fan_out, beta: 1})
                for f in OPS}
    attn = {f: attention_formula(2)[f].subs({B_: H_, S_: L_}).subs(d_, E_ / H_) for f in OPS}
    norm = {f: NORMALISE[f].subs({rows_: 2 * L_, n_: E_, beta: 1, omega: 1}) for f in OPS}
    return _sum(linear(L_, E_, 3 * E_), attn, linear(L_, E_, E_), _cost(adds=2 * L_ * E_),
                norm, linear(L_, E_, F_), _cost(other=L_ * F_), linear(L_, F_, E_))


#: the issue's closed form of the products of an encoder layer
ENCODER_MACS = 4 * L_ * E_**2 + 2 * L_**2 * E_ + 2 * L_ * E_ * F_


def lstm_cell_formula(fan_in: sp.Expr) -> dict[str, sp.Expr]:
    """One LSTM step of one sequence, hidden width H: gates = W_ih x + b_ih + W_hh h + b_hh
    (two products of 4H outputs, β biases, one gate sum), σ on three gates and tanh on one,
    c' = f⊙c + i⊙g, h' = o⊙tanh(c')."""
    def gates(inner):
        return {f: MATMUL[f].subs({B_: 1, n_: 1, k: inner, m_: 4 * H_}) for f in OPS}
    cell = _cost(adds=4 * H_ + H_, mults=3 * H_, other=4 * H_ + H_)
    return _sum(gates(fan_in), gates(H_), cell)


def lstm_formula() -> dict[str, sp.Expr]:
    """Λ stacked unidirectional layers over T steps: layer 1 reads I features, the others H;
    the sum over steps and layers of ``lstm_cell_formula``, in closed form."""
    ell = sp.Symbol("ell", integer=True, positive=True)
    fan_in = sp.Piecewise((I_in, sp.Eq(ell, 1)), (H_, True))
    out = {}
    for f, per_cell in lstm_cell_formula(fan_in).items():
        first = per_cell.subs(ell, 1)
        rest = per_cell.subs(fan_in, H_)
        out[f] = sp.expand(T_ * (first + (Lam - 1) * rest))
    return out


#: the LSTM's products in closed form: 4TH(I + H) for the first layer, 8TH² for each other
LSTM_MACS = 4 * T_ * H_ * (I_in + H_) + 8 * (Lam - 1) * T_ * H_**2


@cache
def matmul_counts_by_enumeration(rows: int, inner: int, cols: int,
                                 bias: bool) -> dict[str, int]:
    """sympy's own matrix product A·B (+ C) of distinct symbols, every entry's terms counted:
    products are the Mul terms, additions the terms minus one."""
    a = sp.Matrix(rows, inner, lambda i, j: sp.Symbol(f"a_{i}_{j}"))
    b = sp.Matrix(inner, cols, lambda i, j: sp.Symbol(f"b_{i}_{j}"))
    y = a * b
    if bias:
        y = y + sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"c_{i}_{j}"))
    mults = adds = 0
    for entry in y:
        terms = entry.args if entry.is_Add else (entry,)
        mults += sum(1 for t in terms if t.is_Mul)
        adds += len(terms) - 1
    return {"macs": mults, "mults": mults, "adds": adds, "other": 0}


MATMUL_CLAIM = claim(
    "flops.matmul_counts",
    source="issue 16 (operator-level counting); the product convention of "
    f"{SEED_001} Problem 2",
    statement="B products (n×k)(k×m) cost Bnkm multiply-adds and multiplications and "
    "Bnm(k − 1 + β) additions (β = 1 when a bias is added, as addmm/baddbmm do).",
    formula=lambda: sp.Eq(sp.Matrix([sp.Symbol("MACs"), _A]),
                          sp.Matrix([MATMUL["macs"], MATMUL["adds"]])),
    witnesses=("symbolic", "implementation"),
)
CONV_ND_CLAIM = claim(
    "flops.conv_nd_counts",
    source=f"issue 16; {SEED_000} Problem 5 (ii) generalised to N-D, groups, dilation",
    statement="An N-D convolution (any groups, stride, dilation, padding) costs "
    "C_out·O·(C_in/g)·K multiply-adds and C_out·O·((C_in/g)·K − 1 + β) additions, O the "
    "output positions and K the kernel volume; transposed: C_in·I·(C_out/g)·K products, each "
    "scatter-added, plus β·C_out·O.",
    formula=lambda: sp.Eq(sp.Matrix([sp.Symbol("MACs"), sp.Symbol("MACs_T")]),
                          sp.Matrix([CONV_ND["macs"], CONV_T["macs"]])),
    witnesses=("symbolic", "implementation"),
)
ELEMENTWISE_CLAIM = claim(
    "flops.elementwise_counts",
    source="issue 16 (the counter's conventions)",
    statement="Element-wise: an addition/subtraction (residual, bias) 1 add per output "
    "element, a multiplication 1 mult, an activation function/exp/log/division/sqrt 1 other; "
    "selections, comparisons (max pooling) and embedding lookups no arithmetic.",
    formula=lambda: sp.Eq(sp.Matrix([_A, _M, sp.Symbol("O")]), sp.Matrix([N_el] * 3)),
    witnesses=("implementation",),
)
SOFTMAX_CLAIM = claim(
    "flops.softmax_counts",
    source="issue 16 (the counter's conventions)",
    statement="Softmax over R rows of n: n subtractions of the row max, n exp, n − 1 "
    "additions, n divisions per row; log-softmax: 2n subtractions, n − 1 additions, n exp, "
    "one log.",
    formula=lambda: sp.Eq(sp.Matrix([_A, sp.Symbol("O")]),
                          sp.Matrix([SOFTMAX["adds"], SOFTMAX["other"]])),
    witnesses=("implementation",),
)
NORMALISE_CLAIM = claim(
    "flops.normalisation_counts",
    source="issue 16; the BatchNorm convention of flops.pooling_and_elementwise_counts",
    statement="Layer/group norm (and batch norm on batch statistics) over R groups of n "
    "values: R(3n + βn) additions, R(2n + 2 + ωn) multiplications, R square roots; batch "
    "norm on running statistics: 1 multiplication and 1 addition per element.",
    formula=lambda: sp.Eq(sp.Matrix([_A, _M, sp.Symbol("O")]),
                          sp.Matrix([NORMALISE[f] for f in ("adds", "mults", "other")])),
    witnesses=("implementation",),
)
ATTENTION_CLAIM = claim(
    "flops.attention_counts",
    source="issue 16 (scaled-dot-product attention, fused and decomposed)",
    statement="softmax(q kᵀ/√d) v over B·H heads, L queries, S keys, width d: BH(LSd + LSd) "
    "multiply-adds in its two products; its other columns are the sum of its operations' "
    "rules (the scale, the products, softmax), fused kernel or decomposition alike.",
    formula=lambda: sp.Eq(sp.Symbol("MACs"), attention_formula(2)["macs"]),
    witnesses=("symbolic", "implementation"),
)
ENCODER_CLAIM = claim(
    "flops.encoder_layer_counts",
    source="issue 16 (closed form of a transformer encoder layer)",
    statement="A transformer encoder layer of length L, width E, feed-forward F costs "
    "4LE² + 2L²E + 2LEF multiply-adds in its products (eval fast path and slow path alike).",
    formula=lambda: sp.Eq(sp.Symbol("MACs"), ENCODER_MACS),
    witnesses=("symbolic", "implementation"),
)
LSTM_CLAIM = claim(
    "flops.lstm_counts",
    source="issue 16 (closed form of a stacked LSTM)",
    statement="Λ stacked LSTM layers (input I, hidden H) over T steps cost "
    "4TH(I + H) + 8(Λ − 1)TH² multiply-adds; each step of each layer adds 5H other "
    "operations (3 σ, 2 tanh), 3H element-wise multiplications and 5H additions "
    "(8H fewer without biases).",
    formula=lambda: sp.Eq(sp.Symbol("MACs"), LSTM_MACS),
    witnesses=("symbolic", "implementation"),
)
ZOO_CLAIM = claim(
    "flops.published_model_figures",
    source="torchvision model metadata (num_params, _ops in GFLOPS) of resnet18, resnet50, "
    "vgg16, alexnet, vit_b_16",
    statement="Counted multiply-adds and parameters at 224×224 equal torchvision's "
    "published figures: ResNet-18 11,689,512 / 1.814 G, ResNet-50 25,557,032 / 4.089 G, "
    "VGG-16 138,357,544 / 15.47 G, AlexNet 61,100,840 / 0.714 G, ViT-B/16 86,567,656 / "
    "17.564 G.",
    formula=lambda: sp.Eq(sp.Symbol("MACs"), sp.Symbol("GFLOPS_{torchvision}") * 10**9),
    witnesses=("implementation",),
)


def conv_nd_counts(c_in: int, c_out: int, kernel: tuple[int, ...], out_size: tuple[int, ...],
                   *, groups: int = 1, bias: bool = True, transposed: bool = False,
                   in_size: tuple[int, ...] = ()) -> dict[str, int]:
    """``CONV_ND`` (or ``CONV_T`` with ``in_size``) at these sizes, any number of axes."""
    _require_sizes(c_in=c_in, c_out=c_out, groups=groups)
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    formula = CONV_T if transposed else CONV_ND
    subs = {C_in: c_in, C_out: c_out, g: groups, K_vol: prod(kernel), O_vol: prod(out_size),
            I_vol: prod(in_size), beta: int(bias)}
    return {f: int(formula[f].subs(subs)) for f in OPS}
