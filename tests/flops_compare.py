"""The cross-tool table: every zoo model counted by ``impl.flops.count`` and by the peers.

    pip install -e ".[compare]"          # fvcore, ptflops, thop, torchinfo (torch untouched)
    python -m tests.flops_compare --out docs/flops-comparison.md

Not part of CI (it runs real CPU forward passes of VGG-16 and ViT-B/16 for each peer).
Each peer runs as its user would run it: the model on the CPU in eval mode, one 224×224 (or
the zoo's) example. Its number is shown in its own unit and converted to multiply-adds
(MACs): ``FlopCounterMode`` counts 2 FLOPs per multiply-add; fvcore's "flops", ptflops'
"MACs", thop's "MACs" and torchinfo's "mult-adds" are multiply-adds already.

Every disagreement with our ``macs`` is explained by the peer's *convention*, written down
once per peer in :data:`CONVENTIONS` from its source (fvcore's ``jit_handles.py``, ptflops'
``pytorch_ops.py``/``pytorch_engine.py``, thop's ``basic_hooks.py``/``rnn_hooks.py``,
torchinfo's ``LayerInfo.calculate_macs``): the peer's number is predicted as our ``macs``
minus what the peer cannot see (functional products, an operator it has no handle for, a
fused kernel) plus what its convention adds (biases, normalisations, activations, pooling,
the pointwise work of an LSTM), each term computed from our own counts of that model
(:class:`Terms`, from one recorded run of ``impl.flops.count``). The convention is fixed, not
fitted per model: a note says "unexplained" with the residual when the prediction misses.
``tests/test_flops_compare.py`` recomputes the peers on small models and asserts the
predictions to the unit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch
from torch import nn

from impl.flops import RULES, Counts, count, register_rule
from tests.zoo import ZOO, build

TOOLS = ("ours", "FlopCounterMode", "fvcore", "ptflops", "thop", "torchinfo")
UNIT = {
    "ours": "MAC",
    "FlopCounterMode": "FLOP",
    "fvcore": "flop (=MAC)",
    "ptflops": "MAC",
    "thop": "MAC",
    "torchinfo": "mult-add",
}
TO_MACS = {"FlopCounterMode": 0.5}

PRODUCT_KINDS = {
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Linear",
}
FUSED = {
    "aten._transformer_encoder_layer_fwd",
    "aten._native_multi_head_attention",
    "aten._scaled_dot_product_flash_attention_for_cpu",
    "aten.mkldnn_rnn_layer",
}
#: activation modules whose ``forward`` calls a functional ptflops patches (F.relu, F.gelu,
#: F.elu, F.prelu): ptflops counts their elements in its module hook *and* in the patch
ACT_TWICE = {"ReLU", "GELU", "ELU", "PReLU"}
#: activation modules ptflops counts once: a module hook whose functional is not patched
#: (ReLU6 → F.hardtanh, LeakyReLU → F.leaky_relu), or a patch without a hook (SiLU)
ACT_ONCE = {"ReLU6", "LeakyReLU", "SiLU"}
POOL_KINDS = {
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
}
BMM = {"aten.bmm", "aten.baddbmm"}  # products of two computed tensors (attention)
BIASED_PRODUCTS = {"aten.addmm", "aten.addmv"}  # a product plus a bias (one add per output)
SOFTMAX = {"aten._softmax", "aten._safe_softmax", "aten.softmax"}


# --------------------------------------------------------------------------- our terms


@dataclass
class _Call:
    """One module call of a recorded count: the rules' costs of the operations it ran."""

    module: nn.Module
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...] = ()
    ops: list = None  # [(op name, cost dict, first input numel, output numel)]


def _numel(x) -> int:
    if isinstance(x, tuple | list):
        x = next((t for t in x if isinstance(t, torch.Tensor)), None)
    return x.numel() if isinstance(x, torch.Tensor) else 0


def _prod(shape) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


def record(model: nn.Module, shape: tuple[int, ...]) -> tuple[Counts, list[_Call]]:
    """``count(model, shape)`` once more, with every rule's cost recorded in the module call
    that ran it (the innermost, as the counter attributes it). Uses only the public API:
    each rule is wrapped with ``register_rule`` and restored after."""
    calls: list[_Call] = []
    stack: list[_Call] = []

    def pre(m, args):
        x = args[0] if args and isinstance(args[0], torch.Tensor) else None
        call = _Call(m, type(m).__name__, tuple(x.shape) if x is not None else (), ops=[])
        calls.append(call)
        stack.append(call)

    def post(m, args, out):
        first = out[0] if isinstance(out, tuple | list) else out
        stack.pop().out_shape = tuple(first.shape) if isinstance(first, torch.Tensor) else ()

    def recording(op, rule):
        name = str(getattr(op, "overloadpacket", op))

        def rec(args, kwargs, out):
            cost = rule(args, kwargs, out)
            if stack:
                stack[-1].ops.append((name, dict(cost), _numel(args[0]), _numel(out)))
            return cost

        return rec

    replaced = {
        op: register_rule(op, recording(op, rule))
        for op, rule in list(RULES.items())
        if rule is not None
    }
    handles = [
        nn.modules.module.register_module_forward_pre_hook(pre),
        nn.modules.module.register_module_forward_hook(post),
    ]
    try:
        counts = count(model, shape)
    finally:
        for h in handles:
            h.remove()
        for op, rule in replaced.items():
            register_rule(op, rule)
    recorded = sum(c.get("macs", 0) for call in calls for _, c, _, _ in call.ops)
    if counts.device != "meta" or recorded != counts.macs:
        raise RuntimeError(
            f"the recorded run does not add up ({recorded} vs {counts.macs} "
            f"MACs counted on {counts.device})"
        )
    return counts, calls


@dataclass(frozen=True)
class Terms:
    """Parts of a model's cost, from our own count of it, each in MACs or elements.

    The docstring of each field says how it is computed; :data:`LABELS` names it in the
    notes."""

    macs: int  # our multiply-adds
    fused: int  # our products inside the CPU's fused kernels (a real CPU count)
    attention_products: int  # bmm/baddbmm outside nn.MultiheadAttention: q·kᵀ and attn·v
    #                          written with tensors in a forward (aten.bmm in our count)
    mha_products: int  # every product inside nn.MultiheadAttention (its forward runs its
    #                    projections with F.linear on its own parameters, and the attention)
    sdpa_products: int  # the bmm products of the MHA calls that went through
    #                     F.scaled_dot_product_attention (need_weights=False: aten._safe_softmax)
    lstm_products: int  # products inside nn.LSTM
    biases: int  # outputs of Conv/Linear modules with a bias (one add each)
    linear_beyond_first: int  # Σ over Linear calls of (products + bias adds) × (P − 1)/P,
    #                           P the positions it is applied at (tokens of a sequence)
    mha_biases: int  # outputs of the biased products (addmm) inside nn.MultiheadAttention
    mha_queries: int  # elements of the query entering nn.MultiheadAttention
    mha_scores: int  # attention scores inside nn.MultiheadAttention (its softmax's inputs)
    lstm_biases: int  # outputs of the biased products (addmm) inside nn.LSTM: b_ih and b_hh
    lstm_pointwise: int  # additions and multiplications of nn.LSTM outside its products
    #                      (gate sums, c' = f·c + i·g, h' = o·tanh(c')), from our rules
    lstm_hidden: int  # hidden-state elements an LSTM computes: layers × T × H (× directions)
    batchnorm: int  # elements entering BatchNorm (all affine in the zoo)
    layernorm: int  # elements entering LayerNorm (all with weight and bias in the zoo)
    act_twice: int  # elements out of ReLU/GELU/ELU/PReLU modules
    act_once: int  # elements out of ReLU6/LeakyReLU/SiLU modules
    pool_in: int  # elements entering pooling modules
    adaptive_in: int  # elements entering adaptive average pooling
    adaptive_window_out: int  # Σ (input/output size ratio + 1) × outputs of adaptive pooling
    norm_params: int  # parameters of BatchNorm/LayerNorm, per call (2C, 2E)

    @classmethod
    def of(cls, model: nn.Module, shape: tuple[int, ...], *, fused: bool = True) -> Terms:
        """The terms of ``model`` (on the CPU for ``fused``: the fused kernels run only on a
        real copy) on one example of ``shape``."""
        counts, calls = record(model, shape)
        t = dict.fromkeys((f.name for f in fields(cls)), 0)
        t["macs"] = counts.macs
        if fused:
            cpu = count(model, shape, device=None)
            t["fused"] = sum(r.macs for r in cpu.rows if FUSED & set(r.ops))
        for c in calls:
            m, kind = c.module, c.kind
            macs = sum(cost.get("macs", 0) for _, cost, _, _ in c.ops)
            bmm = sum(cost.get("macs", 0) for op, cost, _, _ in c.ops if op in BMM)
            biased_out = sum(n for op, _, _, n in c.ops if op in BIASED_PRODUCTS)
            out, into = _prod(c.out_shape), _prod(c.in_shape)
            if isinstance(m, nn.MultiheadAttention):
                t["mha_products"] += macs
                if any(op == "aten._safe_softmax" for op, *_ in c.ops):
                    t["sdpa_products"] += bmm
                t["mha_biases"] += biased_out
                t["mha_queries"] += into
                t["mha_scores"] += sum(n for op, _, n, _ in c.ops if op in SOFTMAX)
                continue
            t["attention_products"] += bmm
            if isinstance(m, nn.LSTM):
                t["lstm_products"] += macs
                t["lstm_biases"] += biased_out
                t["lstm_pointwise"] += sum(
                    cost.get("adds", 0) + cost.get("mults", 0)
                    for op, cost, _, _ in c.ops
                    if not cost.get("macs")
                )
                t["lstm_hidden"] += out * m.num_layers
            elif isinstance(m, nn.RNNBase):
                raise NotImplementedError(f"the peers' conventions for {kind} are not modelled")
            if kind in PRODUCT_KINDS and getattr(m, "bias", None) is not None:
                t["biases"] += out
            if kind == "Linear":
                positions = out // m.out_features
                own = macs + (out if m.bias is not None else 0)
                t["linear_beyond_first"] += own - own // positions
            if isinstance(m, nn.modules.batchnorm._BatchNorm | nn.LayerNorm):
                affine = (
                    m.affine
                    if isinstance(m, nn.modules.batchnorm._BatchNorm)
                    else (m.weight is not None and m.bias is not None)
                )
                if not affine:
                    raise NotImplementedError(
                        f"the peers' conventions for a {kind} without "
                        f"weight and bias are not modelled"
                    )
                t["batchnorm" if kind.startswith("BatchNorm") else "layernorm"] += into
                t["norm_params"] += sum(p.numel() for p in m.parameters(recurse=False))
            if kind in ACT_TWICE:
                t["act_twice"] += out
            if kind in ACT_ONCE:
                t["act_once"] += out
            if kind in POOL_KINDS:
                t["pool_in"] += into
            if kind.startswith("AdaptiveAvgPool"):
                axes = len(c.in_shape) - 2
                window = _prod(c.in_shape[-axes:]) // _prod(c.out_shape[-axes:])
                t["adaptive_in"] += into
                t["adaptive_window_out"] += (window + 1) * out
        return cls(**t)


# --------------------------------------------------------------------------- the peers


def _quiet(fn: Callable[[], object]) -> object:
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        return fn()


def run_flopcounter(model, x):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(x)
    return fc.get_total_flops()


def run_fvcore(model, x):
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


def run_ptflops(model, x):
    from ptflops import get_model_complexity_info

    macs, _ = get_model_complexity_info(
        model,
        tuple(x.shape[1:]),
        as_strings=False,
        print_per_layer_stat=False,
        verbose=False,
        backend="pytorch",
    )
    return int(macs)


def run_thop(model, x):
    import thop

    macs, _ = thop.profile(model, inputs=(x,), verbose=False)
    # thop leaves total_ops/total_params buffers on every module; strip them
    for m in model.modules():
        for name in ("total_ops", "total_params"):
            m._buffers.pop(name, None)
    return int(macs)


def run_torchinfo(model, x):
    from torchinfo import summary

    return int(summary(model, input_data=x, verbose=0).total_mult_adds)


PEERS = {
    "FlopCounterMode": run_flopcounter,
    "fvcore": run_fvcore,
    "ptflops": run_ptflops,
    "thop": run_thop,
    "torchinfo": run_torchinfo,
}


def run_peers(model: nn.Module, shape: tuple[int, ...], tools=tuple(PEERS)) -> dict:
    """Each peer's raw number for ``model`` (on the CPU, float32, eval) on one example of
    ``shape`` (an error message if it cannot run)."""
    out: dict[str, int | str] = {}
    model = model.float().eval()  # float32, as users run them
    x = torch.zeros((1, *shape), dtype=torch.float32)
    for tool in tools:
        try:
            out[tool] = _quiet(lambda tool=tool: PEERS[tool](model, x))
        except Exception as e:  # a peer that cannot count the model: say so in the table
            out[tool] = f"error: {type(e).__name__}: {str(e).splitlines()[0][:80]}"
    return out


def cpu_model(name: str) -> nn.Module:
    """A zoo model on the CPU with seeded weights (the weights change no count)."""
    torch.manual_seed(0)
    return build(name, device="cpu").float().eval()


def peer_counts(name: str, tools=tuple(PEERS)) -> dict[str, int | str]:
    """Each peer's raw number for a zoo model."""
    return run_peers(cpu_model(name), ZOO[name].input_shape, tools)


# --------------------------------------------------------------------------- explanations

#: Each peer's convention: its number = our macs + Σ weight × term. Read from the peer's
#: source (the functions named in :data:`SOURCES`), the same for every model.
CONVENTIONS: dict[str, tuple[tuple[int, str], ...]] = {
    "FlopCounterMode": ((-1, "fused"),),
    "fvcore": (
        (-1, "sdpa_products"),
        (-1, "lstm_products"),
        (2, "batchnorm"),
        (5, "layernorm"),
        (1, "adaptive_in"),
    ),
    "ptflops": (
        (-1, "attention_products"),
        (1, "biases"),
        (1, "mha_biases"),
        (1, "mha_queries"),
        (1, "mha_scores"),
        (2, "batchnorm"),
        (1, "layernorm"),
        (2, "act_twice"),
        (1, "act_once"),
        (2, "pool_in"),
        (1, "lstm_biases"),
        (1, "lstm_pointwise"),
        (2, "lstm_hidden"),
    ),
    "thop": (
        (-1, "attention_products"),
        (-1, "mha_products"),
        (4, "batchnorm"),
        (4, "layernorm"),
        (1, "adaptive_window_out"),
        (1, "lstm_biases"),
        (1, "lstm_pointwise"),
    ),
    "torchinfo": (
        (-1, "attention_products"),
        (-1, "mha_products"),
        (-1, "linear_beyond_first"),
        (1, "biases"),
        (1, "norm_params"),
        (1, "lstm_biases"),
    ),
}

LABELS = {
    "fused": "products inside CPU fused kernels",
    "attention_products": "tensor-attention products q·kᵀ, attn·v",
    "mha_products": "nn.MultiheadAttention products",
    "sdpa_products": "attention products inside F.scaled_dot_product_attention",
    "lstm_products": "LSTM products",
    "biases": "bias additions",
    "linear_beyond_first": "Linear products and bias additions beyond a sequence's first position",
    "mha_biases": "MHA projection bias additions",
    "mha_queries": "MHA query elements",
    "mha_scores": "MHA attention scores",
    "lstm_biases": "LSTM bias additions",
    "lstm_pointwise": "LSTM pointwise additions and multiplications",
    "lstm_hidden": "LSTM hidden-state elements",
    "batchnorm": "batch-norm elements",
    "layernorm": "LayerNorm elements",
    "act_twice": "ReLU/GELU elements",
    "act_once": "ReLU6 elements",
    "pool_in": "pooling inputs",
    "adaptive_in": "adaptive-pool inputs",
    "adaptive_window_out": "(window + 1) × adaptive-pool outputs",
    "norm_params": "normalisation parameters",
}

#: Why a peer has a term, from its source, with the peer's issue where it is a known miss
#: (verified in the trackers; "no issue found" where a search found none).
WHY = {
    (
        "FlopCounterMode",
        "fused",
    ): "no formula for _scaled_dot_product_flash_attention_for_cpu (pytorch#195460), "
    "_transformer_encoder_layer_fwd, _native_multi_head_attention, mkldnn_rnn_layer",
    (
        "fvcore",
        "sdpa_products",
    ): "the trace shows aten::scaled_dot_product_attention, which has no fvcore handle "
    "(skipped as unsupported; no fvcore issue found)",
    ("fvcore", "lstm_products"): "aten::lstm has no handle, fvcore#98 (open)",
    ("fvcore", "batchnorm"): "batchnorm_flop_jit, eval and affine",
    ("fvcore", "layernorm"): "norm_flop_counter: 5 per element with affine, 'a rough estimate'",
    ("fvcore", "adaptive_in"): "elementwise_flop_counter(1, 0)",
    (
        "ptflops",
        "attention_products",
    ): "`@` is not among its patched tensor operations; hand-written attention is not "
    "supported, ptflops#77",
    ("ptflops", "biases"): "its Conv/Linear hooks add the bias",
    ("ptflops", "mha_biases"): "multihead_attention_counter_hook: in- and out-projection bias",
    ("ptflops", "mha_queries"): "multihead_attention_counter_hook: 'Q scaling'",
    ("ptflops", "mha_scores"): "multihead_attention_counter_hook: 1 per score for the softmax",
    ("ptflops", "batchnorm"): "bn_flops_counter_hook, ×2 for affine",
    ("ptflops", "layernorm"): "bn_flops_counter_hook reads `affine`, which LayerNorm lacks (it has "
    "`elementwise_affine`), so 1 per element, not 2 (thop fixed the same in thop PR #189; "
    "no ptflops issue found)",
    (
        "ptflops",
        "act_twice",
    ): "counted twice: the module hook and the patched F.relu/F.gelu its forward calls "
    "(the mechanism of ptflops#139, a functional patch counting again what a module hook "
    "counted; count_functional=False, ptflops PR #140, turns the patches off)",
    ("ptflops", "act_once"): "the module hook only (F.hardtanh is not patched)",
    ("ptflops", "pool_in"): "counted twice: the module hook and the patched F.*pool*",
    ("ptflops", "lstm_biases"): "rnn_flops",
    ("ptflops", "lstm_pointwise"): "rnn_flops",
    (
        "ptflops",
        "lstm_hidden",
    ): "rnn_flops counts h' = o·tanh(c') as 3 per element ('final hadamard'): our 1 "
    "multiplication, its tanh, and 1 more (no issue found; the hook came with ptflops PR #38)",
    ("thop", "attention_products"): "module hooks only",
    (
        "thop",
        "mha_products",
    ): "nn.MultiheadAttention has no rule: 0 ops, thop#197 (open; counted by ultralytics/thop "
    "PR #157)",
    ("thop", "batchnorm"): "count_normalization: 2 per element, ×2 affine",
    ("thop", "layernorm"): "count_normalization: 2 per element, ×2 elementwise_affine",
    ("thop", "adaptive_window_out"): "count_adap_avgpool",
    ("thop", "lstm_biases"): "_count_lstm_cell",
    ("thop", "lstm_pointwise"): "_count_lstm_cell",
    ("torchinfo", "attention_products"): "module hooks only",
    (
        "torchinfo",
        "mha_products",
    ): "nn.MultiheadAttention is not a leaf and its out_proj is never called",
    (
        "torchinfo",
        "linear_beyond_first",
    ): "a Linear's parameters × batch size, the positions of a sequence ignored: "
    "torchinfo#226, torchinfo#77 (fixed by torchinfo PR #318, after 1.8.0)",
    ("torchinfo", "biases"): "parameters × output positions",
    ("torchinfo", "norm_params"): "parameters × batch size",
    ("torchinfo", "lstm_biases"): "RNN parameters × sequence length",
}


def predict(tool: str, terms: Terms) -> tuple[int, list[tuple[int, str, int]]]:
    """The peer's number under its convention, and the nonzero parts (weight, term, value)."""
    parts = [(w, t, getattr(terms, t)) for w, t in CONVENTIONS[tool] if getattr(terms, t)]
    return terms.macs + sum(w * v for w, _, v in parts), parts


def explain(tool: str, peer_macs: int, terms: Terms) -> str:
    """The note of one cell: the decomposition of the peer's number, exact to the unit, or
    "unexplained" with the residual against the convention's prediction."""
    predicted, parts = predict(tool, terms)
    if predicted != peer_macs:
        return (
            f"unexplained ({peer_macs - terms.macs:+,} MACs from ours; "
            f"{peer_macs - predicted:+,} from its convention)"
        )
    text = "= our macs"
    for w, t, v in parts:
        sign = "−" if w < 0 else "+"
        times = f"{abs(w)} × " if abs(w) != 1 else ""
        text += f" {sign} {times}{LABELS[t]} {v:,}"
    return text


def table(names: list[str]) -> tuple[str, dict]:
    """The Markdown table and the raw data."""
    data = {}
    lines = [
        "| model | " + " | ".join(f"{t} ({UNIT[t]})" for t in TOOLS) + " | notes |",
        "|---" * (len(TOOLS) + 2) + "|",
    ]
    for name in names:
        model = cpu_model(name)
        terms = Terms.of(model, ZOO[name].input_shape)
        peers = run_peers(model, ZOO[name].input_shape)
        cells, notes = [f"{terms.macs / 1e9:.4f} G"], []
        for tool in TOOLS[1:]:
            raw = peers[tool]
            if isinstance(raw, str):
                cells.append(raw.replace("|", "/"))
                notes.append(f"{tool}: cannot run ({raw})")
                continue
            macs = int(raw * TO_MACS.get(tool, 1))
            cell = f"{raw / 1e9:.4f} G"
            if tool in TO_MACS:
                cell += f" (= {macs / 1e9:.4f} GMAC)"
            cells.append(cell)
            if macs != terms.macs:
                notes.append(f"{tool}: {explain(tool, macs, terms)}")
        data[name] = {"terms": terms, **peers}
        lines.append(f"| {name} | " + " | ".join(cells) + " | " + "; ".join(notes) + " |")
    return "\n".join(lines), data


def conventions_text() -> str:
    """The conventions as Markdown, one bullet per peer, from :data:`CONVENTIONS`/:data:`WHY`."""
    out = []
    for tool, parts in CONVENTIONS.items():
        out.append(f"* **{tool}** = our macs")
        for w, t in parts:
            sign = "−" if w < 0 else "+"
            times = f"{abs(w)} × " if abs(w) != 1 else ""
            out.append(f"  * {sign} {times}{LABELS[t]}: {WHY[tool, t]}")
    return "\n".join(out)


PROSE = """# Counting tools side by side

Generated by `python -m tests.flops_compare --out docs/flops-comparison.md` (needs the
`compare` extra; not part of CI). Every model of the zoo (`tests/zoo.py`, torchvision's
architectures written out with `torch.nn`) at one example, counted by `impl.flops.count`
(ours, on a meta copy) and by each peer as its user would run it (the model on the CPU, eval
mode, one input). Each peer's number is in its own unit; FlopCounterMode's FLOPs are
converted to multiply-adds (MACs) in brackets, the other peers' units are MACs already:
fvcore calls multiply-adds "flops" (fvcore#69, the maintainer's answer: "it actually means
MAC"), ptflops and thop report MACs, torchinfo "mult-adds".

Every disagreement with our `macs` is explained in the notes by a decomposition, *exact to
the unit*, of the peer's number into our `macs` and terms taken from our own count of the
same model (`Terms` in `tests/flops_compare.py`: one recorded run of `impl.flops.count`, each
operation's cost kept with the module call that ran it). The terms a peer adds or misses are
its *convention*, read once from its source and the same for every model, not fitted per
row. Where a term is a peer's bug, its issue is named; where no issue was found, that is said:

{conventions}

The peers run with hooks on the modules (ptflops, thop, torchinfo) or trace with autograd on
(fvcore), and either switches the transformer fast path off, so they see the encoder layer's
slow path; FlopCounterMode does not, so it sees only the fused kernel and counts 0.
FlopCounterMode also silently ignores any operation without a formula (pytorch#131041,
custom operators); ours refuses instead. ptflops runs with its `pytorch` backend (the one
these conventions are read from). A note "unexplained" would give the residual against the
convention's prediction; there is none. `tests/test_flops_compare.py` recomputes every peer on
small models that carry each term (a small encoder layer, ViT block, LSTM and CNN) and
asserts the prediction to the unit, and on depthwise and seed_module_two of the zoo (the
other zoo rows and torchinfo#226's two orders of magnitude on ViT-B/16 itself: nightly,
`-m nightly`). ptflops' older misses, Linear bias (ptflops#60, fixed) and nn.MultiheadAttention
counted 0 when its parameters do not require gradients (ptflops#101, wontfix), do not arise
here: the zoo's parameters require gradients.

"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the Markdown table to this file")
    parser.add_argument("--models", nargs="*", default=list(ZOO))
    args = parser.parse_args(argv)
    text, _ = table(args.models)
    if args.out:
        with open(args.out, "w") as f:
            f.write(PROSE.format(conventions=conventions_text()) + text + "\n")
    print(text)


if __name__ == "__main__":
    main()
