r"""Count the parameters and operations of a ``torch.nn.Module``, operator by operator.

``count(model, input_shape)`` runs the model once on one example (a batch of one is put in
front of ``input_shape``) and counts every aten operation that runs, each by a rule of its
own. The result, :class:`Counts`, has one row per module call (the operations are attributed
to the innermost module running when they run, so a residual ``x + y`` written in a block's
``forward`` lands on the block's row) and prints as a table: ``print(count(model, shape))``.

Columns (the conventions; ``derivations/flops.py`` states each rule's formula):

* ``macs``: multiply-adds of the products (matrix products, convolutions, attention): an
  output that sums :math:`K` products costs :math:`K`. This is what torchvision's model tables
  and most papers call "FLOPs", and half of ``FlopCounterMode``'s count.
* ``mults``: every multiplication: the products' (= ``macs``) plus element-wise ones (a
  scaling, batch-norm's scale, average pooling's :math:`1/k`).
* ``adds``: every addition or subtraction: a sum of :math:`K` products takes :math:`K-1`, a
  bias one more, a residual one per element, a mean over :math:`n` values :math:`n-1`.
* ``other``: other element-wise operations, one per element: activation functions (ReLU,
  GELU, sigmoid, tanh, …), exp, log, division, square root. Comparisons between elements
  (max pooling, the row maximum softmax subtracts) and selections are not counted.
* ``params``: parameters of the module, at its first call; a parameter shared by several
  modules (tied weights) is counted once, where it is first used.
* ``activations``: elements written by the counted operations (their first output). A fused
  kernel (the transformer fast path, oneDNN's LSTM) writes only its outputs.

View and data-movement operations (``view``, ``permute``, ``cat``, ``clone``, …) cost nothing
and are listed in ``FREE``. An operation with no rule raises :class:`UncountedOperation`
(a ``TypeError``) naming the operation and the module; it is never counted as zero.
Registering a rule is one line::

    register_rule(torch.ops.aten.erf, lambda args, kwargs, out: {"other": out.numel()})

(``register_rule(op)`` with no rule marks a data-movement operation free.)

The model is counted on a copy on the ``meta`` device (shapes only, no arithmetic, so a
ResNet-50 counts in well under a second); when the meta copy cannot run (an operation
without a meta kernel, a tensor attribute that is not a parameter or buffer, a
data-dependent branch) the count runs on a real copy on the model's device. Either way the
user's model is never touched: mode, parameters, buffers and hooks stay as they were.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from math import ceil, floor, prod

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["Counts", "LayerCount", "UncountedOperation", "count", "register_rule"]

OPS = ("macs", "mults", "adds", "other")
FIELDS = (*OPS, "params", "activations")

aten = torch.ops.aten
Rule = Callable[[tuple, dict, object], Mapping[str, int]]


class UncountedOperation(TypeError):
    """An aten operation ran for which the counter has no rule (never counted as zero)."""


class _BadRule(ValueError):
    """A registered rule returned something that is not a cost."""


@dataclass(frozen=True)
class LayerCount:
    """One call of one module: the operations it ran itself (not its children's).

    ``output_shape`` excludes the batch axis; ``ops`` lists the counted aten operations.
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    macs: int = 0
    mults: int = 0
    adds: int = 0
    other: int = 0
    params: int = 0
    activations: int = 0
    ops: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not any(getattr(self, f) for f in FIELDS)


@dataclass(frozen=True)
class Counts:
    """The per-module table and its totals for one example of shape ``input_shape``."""

    input_shape: tuple[int, ...]
    rows: tuple[LayerCount, ...] = field(default_factory=tuple)
    device: str = "meta"

    def total(self, what: str, kinds: Sequence[str] | None = None) -> int:
        """Sum of one column, optionally over the rows whose ``kind`` is in ``kinds``."""
        if not isinstance(what, str) or what not in FIELDS:
            raise ValueError(f"what must be one of {FIELDS}, got {what!r}")
        if kinds is not None and (isinstance(kinds, str) or not all(
                isinstance(k, str) for k in kinds)):
            raise TypeError(f"kinds must be a sequence of module type names, got {kinds!r}")
        return sum(getattr(r, what) for r in self.rows if kinds is None or r.kind in kinds)

    macs = property(lambda self: self.total("macs"))
    mults = property(lambda self: self.total("mults"))
    adds = property(lambda self: self.total("adds"))
    other = property(lambda self: self.total("other"))
    params = property(lambda self: self.total("params"))
    activations = property(lambda self: self.total("activations"))

    def totals(self) -> dict[str, int]:
        return {f: self.total(f) for f in FIELDS}

    def table(self, *, empty_rows: bool = False) -> str:
        """The table as text: one line per module call that counted something (every call
        with ``empty_rows=True``), then the totals. Numbers are plain integers."""
        head = ("module", "type", "output", *FIELDS)
        shown = [r for r in self.rows if empty_rows or not r.is_empty()]
        body = [(r.name, r.kind, "×".join(map(str, r.output_shape)) or "-",
                 *(str(getattr(r, f)) for f in FIELDS)) for r in shown]
        foot = ("total", "", "", *(str(self.total(f)) for f in FIELDS))
        widths = [max(len(row[i]) for row in (head, *body, foot)) for i in range(len(head))]

        def line(row: Sequence[str]) -> str:
            left = [c.ljust(w) for c, w in zip(row[:3], widths[:3], strict=True)]
            right = [c.rjust(w) for c, w in zip(row[3:], widths[3:], strict=True)]
            return " ".join(left + right).rstrip()

        rule = " ".join("-" * w for w in widths)
        shape = "×".join(map(str, self.input_shape))
        return "\n".join([f"input {shape} (one example), counted on {self.device}",
                          line(head), rule, *map(line, body), rule, line(foot)])

    def __str__(self) -> str:
        return self.table()


# --------------------------------------------------------------------------- rules
# A rule: (args, kwargs, out) of one aten call -> its cost {macs, mults, adds, other}.
# Formulas: derivations/flops.py (the claim named beside each group).

RULES: dict[object, Rule | None] = {}  # op packet or overload -> rule (None: free)


def register_rule(op: object, rule: Rule | None = None) -> Rule | None:
    """Count ``op`` (an aten operation, ``torch.ops.aten.foo`` or one overload of it) by
    ``rule(args, kwargs, out) -> {"macs": …, "mults": …, "adds": …, "other": …}`` (missing
    keys are zero). Without a rule the operation is declared free (data movement, no
    arithmetic). Returns the rule it replaces, or None."""
    if not isinstance(op, torch._ops.OpOverloadPacket | torch._ops.OpOverload):
        raise TypeError(f"op must be an aten operation such as torch.ops.aten.add, got "
                        f"{op!r} ({type(op).__name__})")
    if rule is not None and not callable(rule):
        raise TypeError(f"rule must be callable (args, kwargs, out) -> dict, or None for a "
                        f"free operation, got {type(rule).__name__}")
    old = RULES.get(op)
    RULES[op] = rule
    return old


def _numel(out: object) -> int:
    t = _first_tensor(out)
    return t.numel() if t is not None else 0


def _first_tensor(out: object) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, tuple | list):
        for o in out:
            if isinstance(o, torch.Tensor):
                return o
    return None


def _arg(args: tuple, kwargs: dict, i: int, name: str, default=None):
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


# ----- products (flops.matmul_counts)

def _product(outputs: int, inner: int, bias: bool) -> dict[str, int]:
    """outputs, each a sum of ``inner`` products (+ a bias)."""
    return {"macs": outputs * inner, "mults": outputs * inner,
            "adds": outputs * (inner - 1 + bias)}


def _scaled(cost: dict[str, int], outputs: int, alpha, beta, bias_present: bool) -> dict:
    """addmm-style ``beta·bias + alpha·(a @ b)``: scalings ≠ 1 are multiplications."""
    extra = outputs * ((alpha != 1) + (bias_present and beta not in (0, 1)))
    return {**cost, "mults": cost["mults"] + extra}


def _mm(args, kwargs, out):
    return _product(out.numel(), args[0].shape[-1], False)


def _addmm(args, kwargs, out):
    beta, alpha = kwargs.get("beta", 1), kwargs.get("alpha", 1)
    cost = _product(out.numel(), args[1].shape[-1], beta != 0)
    return _scaled(cost, out.numel(), alpha, beta, True)


def _dot(args, kwargs, out):
    return _product(1, args[0].shape[-1], False)


for _op in (aten.mm, aten.bmm, aten.mv):
    register_rule(_op, _mm)
for _op in (aten.addmm, aten.baddbmm, aten.addmv):
    register_rule(_op, _addmm)
register_rule(aten.dot, _dot)


# ----- convolutions (flops.conv_nd_counts, flops.conv_transpose_counts)

def _convolution(args, kwargs, out):
    x, w, bias = args[0], args[1], args[2]
    transposed = bool(_arg(args, kwargs, 6, "transposed", False))
    per_weight_row = w[0].numel()  # (C_in/g)·Πk, or for transposed (C_out/g)·Πk
    if not transposed:
        return _product(out.numel(), per_weight_row, bias is not None)
    # transposed: every input element times every tap of its group's outputs, each product
    # scatter-added into the output (initialised to zero), then the bias
    products = x.numel() * per_weight_row
    return {"macs": products, "mults": products,
            "adds": products + (out.numel() if bias is not None else 0)}


for _op in (aten.convolution, aten._convolution):
    register_rule(_op, _convolution)


# ----- element-wise arithmetic and functions (flops.elementwise_counts)

def _adds(args, kwargs, out):
    alpha = _arg(args, kwargs, 2, "alpha", 1)
    n = _numel(out)
    return {"adds": n, "mults": n * (alpha != 1)}


def _mults(args, kwargs, out):
    return {"mults": _numel(out)}


def _other(args, kwargs, out):
    return {"other": _numel(out)}


def _nothing(args, kwargs, out):
    return {}


for _name in ("add", "add_", "sub", "sub_", "rsub"):
    register_rule(getattr(aten, _name), _adds)
for _name in ("mul", "mul_", "square"):
    register_rule(getattr(aten, _name), _mults)
for _name in (
        "div div_ reciprocal exp exp_ log log_ sqrt rsqrt pow pow_ neg abs erf "
        "relu relu_ relu6 gelu gelu_ sigmoid sigmoid_ tanh tanh_ silu silu_ mish mish_ "
        "hardtanh hardtanh_ leaky_relu leaky_relu_ elu elu_ selu selu_ celu celu_ softplus "
        "hardswish hardswish_ hardsigmoid hardsigmoid_ clamp clamp_ clamp_min clamp_min_ "
        "clamp_max clamp_max_ threshold threshold_ prelu _prelu_kernel "
        "log_sigmoid_forward").split():
    register_rule(getattr(aten, _name), _other)
# selections and comparisons: counted operations (their outputs are activations), no arithmetic
for _name in ("where", "masked_fill", "masked_fill_", "embedding", "max_pool1d",
              "max_pool2d", "max_pool3d", "max_pool2d_with_indices",
              "max_pool3d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d",
              "adaptive_max_pool3d"):
    register_rule(getattr(aten, _name), _nothing)


# ----- softmax (flops.softmax_counts)

def _rows(x: torch.Tensor, dim: int) -> tuple[int, int]:
    n = x.shape[dim] if x.dim() else 1
    return x.numel() // max(n, 1), n


def _softmax(args, kwargs, out):
    """exp(x − max) / Σ: n subtractions, n exp, n − 1 additions, n divisions per row."""
    rows, n = _rows(args[0], args[1])
    return {"adds": rows * (2 * n - 1), "other": rows * 2 * n}


def _log_softmax(args, kwargs, out):
    """(x − max) − log Σ exp(x − max): 2n subtractions, n − 1 additions, n exp, 1 log."""
    rows, n = _rows(args[0], args[1])
    return {"adds": rows * (3 * n - 1), "other": rows * (n + 1)}


for _op in (aten._softmax, aten._safe_softmax, aten.softmax):
    register_rule(_op, _softmax)
for _op in (aten._log_softmax, aten.log_softmax):
    register_rule(_op, _log_softmax)


# ----- normalisation (flops.normalisation_counts)

def _normalise(rows: int, n: int, weight: bool, bias: bool) -> dict[str, int]:
    """Statistics of ``rows`` groups of ``n`` values, normalise, then the affine map:
    mean (n−1 +, 1 ×), centre (n +), variance (n ×, n−1 +, 1 ×), +ε, rsqrt (1 other),
    scale (n ×); weight n ×, bias n + per group."""
    return {"adds": rows * (3 * n - 1 + 1 + n * bias),
            "mults": rows * (2 * n + 2 + n * weight),
            "other": rows}


def _layer_norm(args, kwargs, out):
    x, shape, weight, bias = args[0], args[1], args[2], args[3]
    n = prod(shape)
    return _normalise(x.numel() // n, n, weight is not None, bias is not None)


def _group_norm(args, kwargs, out):
    x, weight, bias, groups = args[0], args[1], args[2], args[6]  # (…, N, C, HxW, group, eps)
    rows = x.shape[0] * groups
    return _normalise(rows, x.numel() // rows, weight is not None, bias is not None)


def _batch_norm_inference(x: torch.Tensor) -> dict[str, int]:
    """Running statistics folded into a per-channel scale and shift: 1 × and 1 + each."""
    return {"mults": x.numel(), "adds": x.numel()}


def _batch_norm_statistics(x, weight, bias) -> dict[str, int]:
    channels = x.shape[1]
    return _normalise(channels, x.numel() // channels, weight is not None, bias is not None)


def _native_batch_norm(args, kwargs, out):
    if args[5]:  # training: batch statistics
        return _batch_norm_statistics(args[0], args[1], args[2])
    return _batch_norm_inference(args[0])


def _batch_norm_no_training(args, kwargs, out):
    return _batch_norm_inference(args[0])


# The _native_batch_norm_legit* operations are what torch.export's decompositions make of
# batch norm (an exported program's .module() runs them): _no_training in eval mode, .no_stats
# without running statistics, _functional in training mode with them.

def _batch_norm_legit(args, kwargs, out):  # (x, w, b, running_mean, running_var, training, …)
    if args[5]:
        return _batch_norm_statistics(args[0], args[1], args[2])
    return _batch_norm_inference(args[0])


def _batch_norm_legit_no_stats(args, kwargs, out):  # (x, w, b, training, momentum, eps)
    return _batch_norm_statistics(args[0], args[1], args[2])


register_rule(aten.native_layer_norm, _layer_norm)
register_rule(aten.native_group_norm, _group_norm)
register_rule(aten.native_batch_norm, _native_batch_norm)
register_rule(aten._native_batch_norm_legit_no_training, _batch_norm_no_training)
register_rule(aten._native_batch_norm_legit.default, _batch_norm_legit)
register_rule(aten._native_batch_norm_legit.no_stats, _batch_norm_legit_no_stats)
register_rule(aten._native_batch_norm_legit_functional, _batch_norm_legit)


# ----- pooling and reductions (flops.pooling_and_elementwise_counts)

def _avg_pool(axes: int) -> Rule:
    """avg_pool{axes}d: Σ over the window (k − 1 additions), times 1/k (1 multiplication) per
    output. A one-element kernel size is that size on each of the ``axes`` axes (the number
    of axes is the operation's: an unbatched input has one axis fewer in front, not fewer
    pooled axes)."""

    def rule(args, kwargs, out):
        kernel = list(args[1])
        kernel = kernel * axes if len(kernel) == 1 else kernel
        return {"adds": out.numel() * (prod(kernel) - 1), "mults": out.numel()}
    return rule


def _adaptive_windows(length: int, outputs: int) -> list[int]:
    """torch's adaptive pooling windows: [⌊iL/O⌋, ⌈(i+1)L/O⌉) for i < O."""
    return [ceil((i + 1) * length / outputs) - floor(i * length / outputs)
            for i in range(outputs)]


def _adaptive_avg_pool(args, kwargs, out):
    x, sizes = args[0], list(args[1])
    axes = len(sizes)
    leading = x.numel() // prod(x.shape[-axes:])
    window_sum = prod(sum(_adaptive_windows(x.shape[-axes + a], sizes[a]))
                      for a in range(axes))
    # Σ over the outputs of (window size − 1); the window sizes factor over the axes
    return {"adds": leading * window_sum - out.numel(), "mults": out.numel()}


def _reduce(args, kwargs, out, *, mean: bool):
    n = args[0].numel() // max(out.numel(), 1)
    # a sum of n values takes n − 1 additions; of none (an empty axis), none
    return {"adds": out.numel() * max(n - 1, 0), "mults": out.numel() * mean}


for _axes, _op in enumerate((aten.avg_pool1d, aten.avg_pool2d, aten.avg_pool3d), start=1):
    register_rule(_op, _avg_pool(_axes))
for _op in (aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d, aten.adaptive_avg_pool1d):
    register_rule(_op, _adaptive_avg_pool)
register_rule(aten.mean, lambda args, kwargs, out: _reduce(args, kwargs, out, mean=True))
register_rule(aten.sum, lambda args, kwargs, out: _reduce(args, kwargs, out, mean=False))


# ----- attention and the fused fast paths (flops.attention_counts, flops.encoder_layer_counts)

def _plus(*costs: Mapping[str, int]) -> dict[str, int]:
    return {f: sum(c.get(f, 0) for c in costs) for f in OPS}


def _attention(batch_heads: int, length: int, source: int, dim: int, value_dim: int,
               *, scalings: int, mask: bool) -> dict[str, int]:
    """softmax(q kᵀ·scale [+ mask]) v as torch's math path computes it: the scale applied to
    q (scalings = 1) or to q and k by its square root each (scalings = 2), two products."""
    scale = batch_heads * dim * (length if scalings == 1 else length + source)
    scores = _product(batch_heads * length * source, dim, False)
    soft = {"adds": batch_heads * length * (2 * source - 1),
            "other": batch_heads * length * 2 * source}
    values = _product(batch_heads * length * value_dim, source, False)
    masked = {"adds": batch_heads * length * source * mask}
    return _plus({"mults": scale}, scores, masked, soft, values)


def _refused_by_the_kernel(op: str, what: str) -> ValueError:
    """A call torch's CPU kernel refuses, though the op's meta function lets it through: no
    model that computes makes it, so it is refused rather than counted."""
    return ValueError(f"{op}: torch's CPU kernel refuses this call ({what}); it is not counted")


def _sdpa_cpu(args, kwargs, out):
    q, k, v = args[0], args[1], args[2]
    if not q.dim() == k.dim() == v.dim() == 4:
        raise _refused_by_the_kernel("_scaled_dot_product_flash_attention_for_cpu",
                                     f"query, key and value must be 4-D (B, H, T, K), got "
                                     f"{q.dim()}-D, {k.dim()}-D and {v.dim()}-D")
    if k.shape[-2] != v.shape[-2]:  # torch's CPU kernel runs, but what it returns is not
        raise ValueError(  # attention: refused rather than counted
            f"scaled_dot_product_attention: keys and values must have the same length, got "
            f"{k.shape[-2]} keys and {v.shape[-2]} values")
    # a causal mask is added like an explicit one (torch's math path adds it to the scores)
    mask = kwargs.get("attn_mask") is not None or bool(_arg(args, kwargs, 4, "is_causal", False))
    bh = q.numel() // (q.shape[-2] * q.shape[-1])
    return _attention(bh, q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1], scalings=2,
                      mask=mask)


def _linear_cost(positions: int, fan_in: int, fan_out: int, bias: bool) -> dict[str, int]:
    return _product(positions * fan_out, fan_in, bias)


def _multi_head(batch: int, length: int, source: int, embed: int, heads: int,
                *, need_weights: bool, average: bool, qkv_bias: bool, proj_bias: bool,
                mask: bool) -> dict[str, int]:
    """nn.MultiheadAttention as its slow path computes it (self-attention shapes)."""
    proj_in = _plus(_linear_cost(batch * length, embed, embed, qkv_bias),
                    _linear_cost(batch * source, embed, 2 * embed, qkv_bias))
    attn = _attention(batch * heads, length, source, embed // heads, embed // heads,
                      scalings=1 if need_weights else 2, mask=mask)
    proj_out = _linear_cost(batch * length, embed, embed, proj_bias)
    mean = ({"adds": batch * length * source * (heads - 1), "mults": batch * length * source}
            if need_weights and average else {})
    return _plus(proj_in, attn, proj_out, mean)


def _native_mha(args, kwargs, out):
    q, k = args[0], args[1]
    if not q.shape == k.shape == args[2].shape:
        raise _refused_by_the_kernel("_native_multi_head_attention",
                                     f"query, key and value must have one shape, got "
                                     f"{tuple(q.shape)}, {tuple(k.shape)}, "
                                     f"{tuple(args[2].shape)}")
    embed, heads = args[3], args[4]
    need = bool(_arg(args, kwargs, 10, "need_weights", True))
    average = bool(_arg(args, kwargs, 11, "average_attn_weights", True))
    mask = _arg(args, kwargs, 9, "mask", None) is not None
    batch = q.numel() // (q.shape[-2] * q.shape[-1])
    return _multi_head(batch, q.shape[-2], k.shape[-2], embed, heads, need_weights=need,
                       average=average, qkv_bias=args[6] is not None,
                       proj_bias=args[8] is not None, mask=mask)


def _encoder_layer(args, kwargs, out):
    """nn.TransformerEncoderLayer's fused kernel, counted as its slow path computes it:
    attention (need_weights=False), residual, LayerNorm, Linear, activation, Linear,
    residual, LayerNorm."""
    src, embed, heads = args[0], args[1], args[2]
    ffn_w1, ffn_b1, ffn_b2 = args[14], args[15], args[17]
    if ffn_b1.shape[-1] != ffn_w1.shape[0]:
        raise _refused_by_the_kernel("_transformer_encoder_layer_fwd",
                                     f"the first feed-forward bias must have one entry per row "
                                     f"of its weight ({ffn_w1.shape[0]}), got {ffn_b1.shape[-1]}")
    mask = _arg(args, kwargs, 18, "mask", None) is not None
    length = src.shape[-2]
    batch = src.numel() // (length * embed)
    tokens = batch * length
    hidden = ffn_w1.shape[0]
    attention = _multi_head(batch, length, length, embed, heads, need_weights=False,
                            average=False, qkv_bias=args[4] is not None,
                            proj_bias=args[6] is not None, mask=mask)
    residuals = {"adds": 2 * tokens * embed}
    norms = _normalise(2 * tokens, embed, True, True)
    ffn = _plus(_linear_cost(tokens, embed, hidden, ffn_b1 is not None),
                {"other": tokens * hidden},
                _linear_cost(tokens, hidden, embed, ffn_b2 is not None))
    return _plus(attention, residuals, norms, ffn)


def lstm_cell(positions: int, fan_in: int, hidden: int, bias: bool) -> dict[str, int]:
    """One LSTM step for ``positions`` sequences, as torch's decomposed cell computes it:
    gates = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh (two products, one gate sum), three sigmoids and
    a tanh on the gates, c' = f c + i g (2 ×, 1 +), h' = o tanh(c') (1 other, 1 ×)."""
    gates = _plus(_linear_cost(positions, fan_in, 4 * hidden, bias),
                  _linear_cost(positions, hidden, 4 * hidden, bias))
    n = positions * hidden
    return _plus(gates, {"adds": 4 * n + n, "mults": 3 * n, "other": 4 * n + n})


def _mkldnn_rnn_layer(args, kwargs, out):
    """oneDNN's fused LSTM layer (CPU): one lstm_cell per time step and sequence."""
    x, w_ih = args[0], args[1]
    hidden, has_bias = args[10], bool(args[12])
    fan_in = w_ih.shape[1]
    if args[9] != 2:  # mode 2 = LSTM (oneDNN runs LSTM layers only here)
        raise UncountedOperation(f"mkldnn_rnn_layer with mode {args[9]} has no rule")
    return lstm_cell(x.numel() // fan_in, fan_in, hidden, has_bias)


register_rule(aten._scaled_dot_product_flash_attention_for_cpu, _sdpa_cpu)
register_rule(aten._native_multi_head_attention, _native_mha)
register_rule(aten._transformer_encoder_layer_fwd, _encoder_layer)
register_rule(aten.mkldnn_rnn_layer, _mkldnn_rnn_layer)


# ----- free: moving or reinterpreting data, creating tensors

#: aten operations that cost nothing: views, copies, concatenation, tensor creation.
FREE = (
    "alias as_strided cat chunk clone contiguous copy copy_ _to_copy detach detach_ empty "
    "empty_like empty_strided expand expand_as flatten full full_like lift_fresh narrow "
    "new_empty new_empty_strided new_full new_ones new_zeros ones ones_like permute reshape "
    "_reshape_alias select slice split split_with_sizes squeeze squeeze_ stack t transpose "
    "transpose_ unbind unflatten unsafe_split unsafe_split_with_sizes unsqueeze unsqueeze_ "
    "view view_as _unsafe_view zero_ zeros zeros_like fill_ dropout feature_dropout "
    "arange scalar_tensor lift detach_copy view_copy flip roll repeat constant_pad_nd tril triu"
).split()
for _name in FREE:
    register_rule(getattr(aten, _name))


def _rule_for(func) -> tuple[bool, Rule | None]:
    """(known, rule): an overload's own rule first, then its packet's."""
    if func in RULES:
        return True, RULES[func]
    packet = func.overloadpacket
    if packet in RULES:
        return True, RULES[packet]
    return False, None


# --------------------------------------------------------------------------- counting

def _batch_norm_meta(args, kwargs):
    """Inference batch norm on meta tensors: the output's shape, without the ~10 ms Python
    decomposition torch's meta kernel runs (saved statistics are empty in inference, as on
    the CPU)."""
    x = args[0]
    if args[5]:  # training: let torch's meta kernel make the saved statistics
        return aten.native_batch_norm.default(*args, **kwargs)
    return torch.empty_like(x), x.new_empty((0,)), x.new_empty((0,))


def _product_meta(args, kwargs):
    """mm/addmm/bmm/baddbmm on meta tensors: the product's shape (torch's meta kernels for
    these run ~2 ms of Python each; a ResNet or an LSTM calls them hundreds of times)."""
    a, b = args[-2], args[-1]  # mm/bmm(a, b), addmm/baddbmm(bias, a, b)
    if a.dim() != b.dim() or a.shape[-1] != b.shape[-2] or a.shape[:-2] != b.shape[:-2]:
        raise RuntimeError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           f"multiplied")
    return a.new_empty((*a.shape[:-1], b.shape[-1]))


def _elementwise_meta(func):
    """An element-wise operation on meta tensors: the broadcast shape and result dtype
    (an in-place operation returns its first argument)."""
    inplace = func.overloadpacket.__name__.endswith("_")

    def run(args, kwargs):
        tensors = [a for a in args[:2] if isinstance(a, torch.Tensor)]
        shape = torch.broadcast_shapes(*(t.shape for t in tensors))
        if inplace:
            if shape != args[0].shape:
                raise RuntimeError(f"output with shape {tuple(args[0].shape)} doesn't match "
                                   f"the broadcast shape {tuple(shape)}")
            return args[0]
        if len(args) > 1 and not isinstance(args[1], torch.Tensor | int | float | bool):
            return func(*args, **kwargs)
        dtype = torch.result_type(*args[:2]) if len(args) > 1 else args[0].dtype
        return torch.empty(shape, dtype=dtype, device="meta")
    return run


_META_SHORTCUTS = {aten.native_batch_norm.default: _batch_norm_meta}
for _op in (aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default):
    _META_SHORTCUTS[_op] = _product_meta
for _name in ("add.Tensor", "add_.Tensor", "sub.Tensor", "sub_.Tensor", "mul.Tensor",
              "mul_.Tensor", "mul.Scalar", "div.Tensor", "add.Scalar", "sigmoid.default",
              "sigmoid_.default", "tanh.default", "tanh_.default", "relu.default",
              "relu_.default", "gelu.default"):
    _packet, _overload = _name.split(".")
    _func = getattr(getattr(aten, _packet), _overload)
    _META_SHORTCUTS[_func] = _elementwise_meta(_func)


class _Frame:
    __slots__ = ("costs", "index", "module", "ops")

    def __init__(self, module: nn.Module, index: int) -> None:
        self.module, self.index = module, index
        self.costs = dict.fromkeys((*OPS, "activations"), 0)
        self.ops: set[str] = set()  # the counted operations' names


class _Counter(TorchDispatchMode):
    """Counts every aten call by its rule, into the frame of the innermost running module."""

    def __init__(self, stack: list[_Frame], names: dict[nn.Module, str]) -> None:
        super().__init__()
        self.stack, self.names = stack, names

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        shortcut = _META_SHORTCUTS.get(func)
        if shortcut is not None and args[0].device.type == "meta":
            out = shortcut(args, kwargs)
        else:
            out = func(*args, **kwargs)
        known, rule = _rule_for(func)
        frame = self.stack[-1]
        if not known:
            name = str(func.overloadpacket)
            module = frame.module
            raise UncountedOperation(
                f"count: no rule for {name} (overload {func._overloadname!r}), run by module "
                f"{self.names[module]!r} ({type(module).__name__}); it will not be counted as "
                f"zero. Register one, e.g. impl.flops.register_rule(torch.ops.{name}, lambda "
                f"args, kwargs, out: {{'other': out.numel()}}), or "
                f"impl.flops.register_rule(torch.ops.{name}) if it only moves data.")
        if rule is None:
            return out
        cost = rule(args, kwargs, out)
        if not isinstance(cost, Mapping):
            raise _BadRule(f"count: the rule for {func.overloadpacket} returned "
                            f"{type(cost).__name__}, not a dict of {OPS}")
        for key, value in cost.items():
            if key not in OPS or not isinstance(value, int) or isinstance(value, bool) \
                    or value < 0:
                raise _BadRule(f"count: the rule for {func.overloadpacket} returned "
                                 f"{key}={value!r}; keys must be in {OPS}, values ints ≥ 0")
            frame.costs[key] += value
        frame.costs["activations"] += _numel(out)
        frame.ops.add(str(func.overloadpacket))
        return out


def _validate_shape(input_shape: object) -> tuple[int, ...]:
    if isinstance(input_shape, torch.Size):
        input_shape = tuple(input_shape)
    if not isinstance(input_shape, tuple | list) or not input_shape:
        raise TypeError(f"input_shape must be a non-empty tuple of ints (one example, no "
                        f"batch axis), got {input_shape!r}")
    for i, v in enumerate(input_shape):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"input_shape[{i}] must be an int, got {type(v).__name__} "
                            f"in {input_shape!r}")
        if v < 1:
            raise ValueError(f"input_shape[{i}] must be a positive size, got {v} in "
                             f"{tuple(input_shape)!r}")
    return tuple(input_shape)


def _model_device(model: nn.Module) -> torch.device | None:
    """The one device of the model's parameters and buffers (None if it has none)."""
    found: dict[torch.device, str] = {}
    for kind, named in (("parameter", model.named_parameters()),
                        ("buffer", model.named_buffers())):
        for name, t in named:
            found.setdefault(t.device, f"{kind} {name!r}")
    if len(found) > 1:
        where = ", ".join(f"{d} ({what})" for d, what in found.items())
        raise ValueError(f"model must have all its parameters and buffers on one device, "
                         f"found several: {where}")
    return next(iter(found), None)


def _meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy whose parameters and buffers live on the meta device (no data copied);
    shared parameters stay shared."""
    memo: dict[int, object] = {}
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(torch.empty_like(p, device="meta"),
                                   requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = torch.empty_like(b, device="meta")
    return copy.deepcopy(model, memo)


def _run(model: nn.Module, x: torch.Tensor, shape: tuple[int, ...]) -> list[LayerCount]:
    """Run ``model`` (already a private copy) on ``x`` and return its rows."""
    names = {m: name or type(model).__name__ for name, m in model.named_modules()}
    stack: list[_Frame] = []
    frames: list[_Frame] = []
    outputs: dict[int, tuple[int, ...]] = {}
    seen_params: set[int] = set()
    params_at: dict[int, int] = {}

    def pre_hook(m: nn.Module, args: tuple) -> None:
        if m not in names:  # a module of another model running meanwhile
            return
        frame = _Frame(m, len(frames))
        own = [p for p in m.parameters(recurse=False) if id(p) not in seen_params]
        seen_params.update(id(p) for p in own)
        params_at[frame.index] = sum(p.numel() for p in own)
        frames.append(frame)
        stack.append(frame)

    def post_hook(m: nn.Module, args: tuple, out: object) -> None:
        if m not in names:
            return
        frame = stack.pop()
        t = _first_tensor(out)
        outputs[frame.index] = tuple(t.shape[1:]) if t is not None else ()

    # Global module hooks, not per-module ones: torch disables the transformer fast path for a
    # layer with hooks of its own, and the count should see the kernels the model really runs.
    handles = [nn.modules.module.register_module_forward_pre_hook(pre_hook),
               nn.modules.module.register_module_forward_hook(post_hook)]
    model.eval()
    # operations outside every module: the model's own forward hooks, which torch runs after
    # the global post_hook has closed the model's row
    root = _Frame(model, -1)
    stack.append(root)
    try:
        with torch.no_grad(), _Counter(stack, names):
            try:
                model(x)
            except (UncountedOperation, _BadRule):
                raise
            except Exception as e:
                where = stack[-1].module
                raise ValueError(
                    f"count: the model rejects an input of shape {shape} (one example, run "
                    f"as a batch of 1): at layer {names[where]!r} ({type(where).__name__}): "
                    f"{type(e).__name__}: {e}") from e
    finally:
        for h in handles:
            h.remove()

    seen_calls: dict[nn.Module, int] = {}
    rows = []
    for frame in frames:
        m = frame.module
        seen_calls[m] = seen_calls.get(m, 0) + 1
        name = names[m] + (f" (call {seen_calls[m]})" if seen_calls[m] > 1 else "")
        rows.append(LayerCount(name, type(m).__name__, outputs.get(frame.index, ()),
                               params=params_at[frame.index],
                               ops=tuple(sorted(frame.ops)), **frame.costs))
    if any(root.costs.values()):
        rows.append(LayerCount("(outside every module)", "-", (), ops=tuple(sorted(root.ops)),
                               **root.costs))
    for m, name in names.items():  # parameters of modules the forward pass never called
        unseen = [p for p in m.parameters(recurse=False) if id(p) not in seen_params]
        seen_params.update(id(p) for p in unseen)
        if unseen:
            rows.append(LayerCount(f"{name} (not called)", type(m).__name__, (),
                                   params=sum(p.numel() for p in unseen)))
    return rows


def count(model: nn.Module, input_shape: Sequence[int], *,
          input_dtype: torch.dtype | None = None, device: str | None = "meta") -> Counts:
    """Count every operation ``model`` runs on one example of shape ``input_shape``.

    ``input_dtype``: the input's dtype (default: the dtype of the model's first floating
    parameter, else float32; ``torch.long`` for a model that starts with an embedding).
    ``device``: ``"meta"`` (default) counts on a meta copy, falling back to a real copy on
    the model's device when the meta copy cannot run; ``None`` counts on a real copy on the
    model's device (so fused CPU kernels such as the transformer fast path run).

    Raises ``TypeError`` for a non-module or a bad ``input_shape``/``input_dtype``,
    :class:`UncountedOperation` (a ``TypeError``) for an operation without a rule,
    ``ValueError`` for a non-positive size, parameters on several devices, or an input the
    model rejects (naming the layer that rejected it). The model itself is never modified.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    shape = _validate_shape(input_shape)
    if input_dtype is not None and not isinstance(input_dtype, torch.dtype):
        raise TypeError(f"input_dtype must be a torch.dtype or None, got "
                        f"{type(input_dtype).__name__}")
    if device not in ("meta", None):
        raise ValueError(f"device must be 'meta' or None (the model's own device), got "
                         f"{device!r}")
    home = _model_device(model) or torch.device("cpu")
    first = next((p for p in model.parameters() if p.is_floating_point()), None)
    dtype = input_dtype or (first.dtype if first is not None else torch.float32)

    def attempt(where: torch.device) -> Counts:
        copied = _meta_copy(model) if where.type == "meta" else copy.deepcopy(model)
        x = torch.zeros((1, *shape), dtype=dtype, device=where)
        return Counts(shape, tuple(_run(copied, x, shape)), str(where))

    if device is None or home.type == "meta":
        return attempt(home)
    try:
        return attempt(torch.device("meta"))
    except (UncountedOperation, _BadRule):
        raise
    except ValueError:
        # the meta copy could not run: an operation without a meta kernel, a plain tensor
        # attribute left on the model's device, a data-dependent branch, or a bad input;
        # a real copy decides (and names the layer if the input is really rejected)
        return attempt(home)
