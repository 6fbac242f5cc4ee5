r"""Counting attention, the fused fast paths, and the corners of the product rules.

The fused kernels (``_scaled_dot_product_flash_attention_for_cpu``,
``_native_multi_head_attention``, ``_transformer_encoder_layer_fwd``) run only on a real CPU
copy (``count(..., device=None)``) of a model in eval mode under ``no_grad``, which is how
``count`` runs every model; on the meta device torch takes the slow path and decomposes the
same module into products, softmax, means and additions, each counted by its own rule. Three
witnesses per count:

1. the formulas of ``derivations/flops.py`` (``attention_formula``, ``matmul_cost``,
   ``encoder_layer_formula``, ``MEAN``, ``ELEMENTWISE``) evaluated at the drawn sizes;
2. the slow path: the same module counted on the meta device, operation by operation;
3. torch's ``FlopCounterMode`` (2 FLOPs per multiply-add) on the slow path, and
   ``sum(p.numel())`` for the parameters.

Besides attention: the scalings of ``addmm``/``baddbmm`` (``beta·bias + alpha·(a @ b)``), the
dot product of two vectors, and the shape shortcut that keeps matrix products on the meta
device. Seeds: the product convention of ``001_d80f36ddf3b5193b.txt`` Problem 2, extended to
attention by issue 16.
"""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from derivations import flops as D
from impl.flops import count
from tests.test_flops import OP_FIELDS, Fn, formula, formula_at, op_counts, torch_macs

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def plus(*costs: dict[str, int]) -> dict[str, int]:
    return {f: sum(c[f] for c in costs) for f in OP_FIELDS}


def ops_of(counts) -> set[str]:
    return {op for r in counts.rows for op in r.ops}


def masked_scores(n: int) -> dict[str, int]:
    """An additive attention mask: one addition per score (flops.elementwise_counts)."""
    return formula_at(D.ELEMENTWISE["add"], {D.N_el: n})


# ------------------------------------------------------------------ 1. scaled dot-product attention


class CrossAttention(nn.Module):
    """``F.scaled_dot_product_attention`` of L queries on S keys (= values), H heads of width
    d: the example (batch, L + S, H·d) is split along its tokens into the queries and the
    keys, each into H heads; ``mask``: "none", "explicit" (a boolean lower-triangular (L, S)
    mask) or "causal" (``is_causal=True``, the same mask made by torch)."""

    def __init__(self, heads: int, length: int, source: int, mask: str) -> None:
        super().__init__()
        self.heads, self.length, self.causal = heads, length, mask == "causal"
        lower = torch.ones(length, source, dtype=torch.bool).tril()
        self.register_buffer("mask", lower if mask == "explicit" else None)

    def forward(self, x):
        b, tokens, width = x.shape[1:]
        x = x[0].reshape(b, tokens, self.heads, width // self.heads).transpose(1, 2)
        q, kv = x[:, :, :self.length], x[:, :, self.length:]
        return F.scaled_dot_product_attention(q, kv, kv, attn_mask=self.mask,
                                              is_causal=self.causal)


@pytest.mark.slow
@pytest.mark.claim("flops.attention_counts", "flops.counter_matches_torch",
                   kind="implementation")
@given(batch=st.integers(1, 2), heads=st.integers(1, 2), length=st.integers(1, 4),
       source=st.integers(1, 4), d=st.integers(1, 3),
       mask=st.sampled_from(["none", "explicit", "causal"]))
@example(batch=1, heads=2, length=3, source=1, d=2, mask="none")  # L ≠ S: the keys' length
@example(batch=1, heads=2, length=3, source=2, d=1, mask="causal")
def test_counter_sdpa_cross_attention_fused_and_decomposed_is_the_formula(batch, heads, length,
                                                                         source, d, mask):
    r"""L queries attending to S keys: BH(LSd + LSd) multiply-adds, the scale √(1/√d) on q
    and on k (BHd(L + S) ×), softmax over S per query, and a mask one + per score
    (BHLS), explicit or causal (``is_causal``: torch's math path adds the mask it makes); the
    fused CPU kernel counts as the math decomposition on meta, and = the formula at
    (B·H, L, S, d)."""
    model, shape = CrossAttention(heads, length, source, mask), (batch, length + source, heads * d)
    subs = {D.B_: batch * heads, D.L_: length, D.S_: source, D.d_: d}
    expected = formula_at(formula("attention_formula", 2), subs)
    if mask != "none":
        expected = plus(expected, masked_scores(batch * heads * length * source))
    meta, cpu = count(model, shape), count(model, shape, device=None)
    assert "aten._scaled_dot_product_flash_attention_for_cpu" in ops_of(cpu), str(cpu)
    assert op_counts(meta) == expected, f"claim flops.attention_counts (decomposed): {meta}"
    assert op_counts(cpu) == expected, f"claim flops.attention_counts (fused): {cpu}"
    assert meta.macs == torch_macs(model.to("meta"), shape), "claim flops.counter_matches_torch"


def test_counter_refuses_keys_and_values_of_different_lengths():
    """torch's CPU kernel accepts S keys with S' ≠ S values and returns something that is not
    attention (no attention over any S of the values gives it): the counter refuses, naming
    both lengths, rather than count it."""

    class Mismatched(nn.Module):
        def forward(self, x):
            q = x.view(1, 2, 4, 3)
            return F.scaled_dot_product_attention(q, q, torch.cat([q, q], dim=2))

    for device in ("meta", None):
        with pytest.raises(ValueError, match="keys and values must have the same length, got "
                                             "4 keys and 8 values"):
            count(Mismatched(), (24,), device=device)


def _mha_fused(q, k, v, width=4, heads=2):
    """torch's private fused multi-head attention op, with zero weights of the right shapes."""
    z = functools.partial(torch.zeros, device=q.device, dtype=q.dtype)
    return torch._native_multi_head_attention(q, k, v, width, heads, z(3 * width, width),
                                              z(3 * width), z(width, width), z(width))[0]


def _encoder_fused(x, bias_entries, width=4, heads=2, feedforward=3):
    """torch's private fused encoder-layer op with zero weights, the first feed-forward bias
    given ``bias_entries`` entries (the kernel needs ``feedforward``)."""
    z = functools.partial(torch.zeros, device=x.device, dtype=x.dtype)
    o = functools.partial(torch.ones, device=x.device, dtype=x.dtype)
    return torch._transformer_encoder_layer_fwd(
        x, width, heads, z(3 * width, width), z(3 * width), z(width, width), z(width), False,
        False, 1e-5, o(width), z(width), o(width), z(width), z(feedforward, width),
        z(bias_entries), z(width, feedforward), z(width), None, None)


@pytest.mark.parametrize(("call", "refusal"), [
    (lambda x: torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(x, x, x)[0],
     r"Accept only 4 dims"),
    (lambda x: _mha_fused(x, x[:, :2], x[:, :2]),
     r"shapes to match"),
    (lambda x: _encoder_fused(x, bias_entries=2),
     r"must match the existing size"),
], ids=["sdpa 3-D", "mha key shape", "encoder bias"])
def test_counter_refuses_private_fused_calls_the_cpu_kernel_refuses(call, refusal):
    """The fused attention ops' meta functions check less than torch's CPU kernels: a model
    that calls the private op with shapes the kernel refuses would count on meta but computes
    nowhere. The counter refuses such a call on meta, so ``count`` runs the model on the CPU,
    where the kernel's own error names the layer (a ValueError, never a count)."""
    with pytest.raises(ValueError, match="rejects an input.*" + refusal):
        count(Fn(lambda x: call(x[0])), (1, 3, 4))


# ------------------------------------------------------------------ 2. nn.MultiheadAttention


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention`` (batch first, biases) on ``batch`` sequences of L tokens, query
    = key = value: the conditions of its fast path once ``count`` puts it in eval mode under
    ``no_grad`` with an even number of heads. ``mask``: None, a boolean (L, L) attention
    mask, or a boolean (batch, L) key-padding mask (their values do not change a count)."""

    def __init__(self, width: int, heads: int, batch: int, length: int, *,
                 need_weights: bool, average: bool, mask: str | None) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.need_weights, self.average = need_weights, average
        causal = torch.ones(length, length, dtype=torch.bool).triu(1)
        padding = torch.zeros(batch, length, dtype=torch.bool)
        self.register_buffer("attn_mask", causal if mask == "attention" else None)
        self.register_buffer("padding", padding if mask == "padding" else None)

    def forward(self, x):
        x = x[0]  # (batch, L, E)
        return self.attn(x, x, x, need_weights=self.need_weights,
                         average_attn_weights=self.average, attn_mask=self.attn_mask,
                         key_padding_mask=self.padding)[0]


def multi_head_formula(batch: int, heads: int, d: int, length: int, *, need_weights: bool,
                       average: bool, masked: bool) -> dict[str, int]:
    """The slow path's operations, each by its derivation: the in-projection (one product
    E → 3E with bias over the B·L tokens), attention over B·H heads (the scale on q alone when
    the weights are returned, √scale on q and k when torch runs SDPA), the mask (one + per
    score), the out-projection E → E, and with averaged weights their mean over the H heads
    (B·L·L means of H values)."""
    width, tokens = heads * d, batch * length
    attention = formula_at(formula("attention_formula", 1 if need_weights else 2),
                           {D.B_: batch * heads, D.L_: length, D.S_: length, D.d_: d})
    parts = [D.matmul_cost(1, tokens, width, 3 * width, True), attention,
             D.matmul_cost(1, tokens, width, width, True)]
    if masked:
        parts.append(masked_scores(batch * heads * length * length))
    if need_weights and average:
        parts.append(formula_at(D.MEAN, {D.N_el: tokens * length, D.n_: heads}))
    return plus(*parts)


@pytest.mark.slow
@pytest.mark.claim("flops.attention_counts", "flops.matmul_counts", "flops.counter_matches_torch",
                   kind="implementation")
@given(batch=st.integers(1, 2), heads=st.sampled_from([2, 4]), d=st.integers(1, 3),
       length=st.integers(1, 4), need_weights=st.booleans(), average=st.booleans(),
       mask=st.sampled_from([None, "attention", "padding"]))
@example(batch=2, heads=2, d=3, length=4, need_weights=True, average=True, mask=None)
@example(batch=1, heads=2, d=2, length=3, need_weights=True, average=False, mask=None)
@example(batch=2, heads=4, d=1, length=2, need_weights=False, average=True, mask=None)
@example(batch=1, heads=2, d=1, length=3, need_weights=False, average=False, mask="attention")
def test_counter_multi_head_attention_fast_and_slow_path_are_the_formula(
        batch, heads, d, length, need_weights, average, mask):
    """nn.MultiheadAttention in self-attention: on the CPU one fused
    _native_multi_head_attention (its arguments need_weights, average_attn_weights and the
    mask read by position), on meta the slow path (addmm, bmm/baddbmm, softmax, mean); both
    count the formula's 4BLE² + 2BL²E multiply-adds and the scale, softmax, mask and mean
    around them, and the parameters are Σ p.numel() = 4E² + 4E."""
    width = heads * d
    model = SelfAttention(width, heads, batch, length, need_weights=need_weights,
                          average=average, mask=mask)
    shape = (batch, length, width)
    expected = multi_head_formula(batch, heads, d, length, need_weights=need_weights,
                                  average=average, masked=mask is not None)
    meta, cpu = count(model, shape), count(model, shape, device=None)
    assert "aten._native_multi_head_attention" in ops_of(cpu), str(cpu)
    assert op_counts(meta) == expected, f"claim flops.attention_counts (slow path): {meta}"
    assert op_counts(cpu) == expected, f"claim flops.attention_counts (fast path): {cpu}"
    assert meta.macs == 4 * batch * length * width**2 + 2 * batch * length**2 * width
    assert meta.params == cpu.params == sum(p.numel() for p in model.parameters())
    assert meta.params == 4 * width**2 + 4 * width
    assert meta.macs == torch_macs(model.to("meta"), shape), "claim flops.counter_matches_torch"


# ------------------------------------------------------------------ 3. masked encoder layers


class MaskedEncoderLayer(nn.Module):
    """``nn.TransformerEncoderLayer`` (post-norm, ReLU, batch first, no dropout) with a mask:
    ``"attention"`` a boolean (L, L) ``src_mask``, ``"padding"`` a boolean (1, L)
    ``src_key_padding_mask``, ``"kernel"`` the fused kernel ``torch._transformer_encoder_layer_fwd``
    called directly with the layer's parameters and a boolean (1, H, L, L) mask but no mask
    type (which the kernel accepts)."""

    def __init__(self, width: int, heads: int, feedforward: int, length: int,
                 mask: str) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(width, heads, feedforward, dropout=0.0,
                                                batch_first=True)
        self.mask = mask
        causal = torch.ones(length, length, dtype=torch.bool).triu(1)
        self.register_buffer("causal", causal)
        self.register_buffer("padding", torch.zeros(1, length, dtype=torch.bool))

    def forward(self, x):
        if self.mask == "attention":
            return self.layer(x, src_mask=self.causal)
        if self.mask == "padding":
            return self.layer(x, src_key_padding_mask=self.padding)
        layer, attn = self.layer, self.layer.self_attn
        mask = self.causal.expand(1, attn.num_heads, -1, -1)
        return torch._transformer_encoder_layer_fwd(
            x, attn.embed_dim, attn.num_heads, attn.in_proj_weight, attn.in_proj_bias,
            attn.out_proj.weight, attn.out_proj.bias, False, False, layer.norm1.eps,
            layer.norm1.weight, layer.norm1.bias, layer.norm2.weight, layer.norm2.bias,
            layer.linear1.weight, layer.linear1.bias, layer.linear2.weight, layer.linear2.bias,
            mask, None)


@pytest.mark.slow
@pytest.mark.claim("flops.encoder_layer_counts", "flops.attention_counts", kind="implementation")
@given(length=st.integers(1, 4), heads=st.sampled_from([2, 4]), d=st.integers(1, 2),
       ff=st.integers(1, 5), mask=st.sampled_from(["attention", "padding", "kernel"]))
@example(length=3, heads=2, d=2, ff=3, mask="kernel")
def test_counter_masked_encoder_layer_fast_and_slow_path_are_the_formula(length, heads, d, ff,
                                                                        mask):
    """A masked encoder layer: the formula of the unmasked layer (products 4LE² + 2L²E + 2LEF)
    plus one addition per attention score (H·L·L) for the mask, on the CPU's fused
    _transformer_encoder_layer_fwd (the mask read by position, with or without its mask
    type) and on meta's slow path alike."""
    width = heads * d
    model = MaskedEncoderLayer(width, heads, ff, length, mask)
    shape = (length, width)
    subs = {D.L_: length, D.E_: width, D.H_: heads, D.F_: ff}
    expected = plus(formula_at(formula("encoder_layer_formula"), subs),
                    masked_scores(heads * length * length))
    meta, cpu = count(model, shape), count(model, shape, device=None)
    assert "aten._transformer_encoder_layer_fwd" in ops_of(cpu), str(cpu)
    assert op_counts(meta) == expected, f"claim flops.encoder_layer_counts (meta): {meta}"
    assert op_counts(cpu) == expected, f"claim flops.encoder_layer_counts (fused): {cpu}"
    assert meta.macs == int(D.ENCODER_MACS.subs(subs))


# ------------------------------------------------------------------ 4. products: scalings, dot


SCALED = {  # beta·c + alpha·(a @ b), a: (n, k) or (B, n, k)
    "addmm": lambda a, b, c, beta, alpha: torch.addmm(c[0], a[0], b[0], beta=beta, alpha=alpha),
    "baddbmm": lambda a, b, c, beta, alpha: torch.baddbmm(c, a, b, beta=beta, alpha=alpha),
}


@pytest.mark.slow
@pytest.mark.claim("flops.matmul_counts", "flops.elementwise_counts",
                   "flops.counter_matches_torch", kind="implementation")
@given(op=st.sampled_from(sorted(SCALED)), batch=st.integers(1, 3), n=st.integers(1, 4),
       k=st.integers(1, 4), m=st.integers(1, 4), beta=st.sampled_from([1, 0, 2, 0.5]),
       alpha=st.sampled_from([1, 2, 0.5, -1, 0]))
@example(op="addmm", batch=1, n=2, k=3, m=2, beta=0, alpha=1)  # bias ignored, no scaling
@example(op="addmm", batch=1, n=2, k=3, m=2, beta=2, alpha=1)  # the bias scaled
@example(op="baddbmm", batch=2, n=2, k=3, m=2, beta=1, alpha=2)  # the product scaled
def test_counter_scaled_matrix_products_count_each_scaling_as_a_multiplication(op, batch, n, k,
                                                                              m, beta, alpha):
    r"""torch.addmm / baddbmm(c, a, b, beta=β, alpha=α) = β·c + α·(a @ b): the product's
    Bnkm multiply-adds and Bnm(k − 1 + [β ≠ 0]) additions (β = 0: torch ignores c, nothing is
    added), plus one multiplication per output element for each scaling that is not the
    identity: α ≠ 1, and β ∉ {0, 1} (flops.elementwise_counts: a multiplication 1 ×). The
    count stays on meta and its multiply-adds are FlopCounterMode's / 2."""
    b_ = batch if op == "baddbmm" else 1

    def fn(x):  # x: (1, batch, n, k), the left operand
        ones = functools.partial(torch.ones, device=x.device, dtype=x.dtype)
        return SCALED[op](x[0], ones(batch, k, m), ones(batch, n, m), beta, alpha)

    model, shape = Fn(fn), (batch, n, k)
    counts = count(model, shape)
    scalings = (alpha != 1) + (beta not in (0, 1))
    scaled = formula_at(D.ELEMENTWISE["mul"], {D.N_el: b_ * n * m})
    expected = plus(D.matmul_cost(b_, n, k, m, beta != 0),
                    {f: v * scalings for f, v in scaled.items()})
    assert op_counts(counts) == expected, (
        f"claim flops.matmul_counts (β={beta}, α={alpha}): {counts}")
    assert counts.device == "meta"
    assert counts.macs == torch_macs(model.to("meta"), shape), "claim flops.counter_matches_torch"


DOTS = {"torch.dot": torch.dot, "1-D @ 1-D": lambda x, w: x @ w, "torch.inner": torch.inner}


class Dot(nn.Module):
    def __init__(self, n: int, form: str) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(n))
        self.form = form

    def forward(self, x):
        return DOTS[self.form](x[0], self.w)


@pytest.mark.slow
@pytest.mark.claim("flops.matmul_counts", kind="implementation")
@given(n=st.integers(1, 8), form=st.sampled_from(sorted(DOTS)))
def test_counter_dot_product_of_two_vectors_is_a_1_by_n_by_1_product(n, form):
    r"""⟨x, w⟩ of two n-vectors (aten.dot, which 1-D @ 1-D and torch.inner of vectors run):
    the (1 × n)(n × 1) product, n multiply-adds and n − 1 additions, = sympy's written-out
    product. (FlopCounterMode has no rule for aten.dot and counts it as 0, so it is no witness
    here.)"""
    model = Dot(n, form)
    expected = D.matmul_cost(1, 1, n, 1, False)
    assert D.matmul_counts_by_enumeration(1, n, 1, False) == expected
    for counts in (count(model, (n,)), count(model, (n,), device=None)):
        assert op_counts(counts) == expected, f"claim flops.matmul_counts (dot): {counts}"
        assert "aten.dot" in ops_of(counts)  # (torch.inner of 1-vectors adds a sum of one value)
        assert counts.params == n


PRODUCTS = {  # the operations count runs on meta by computing their shape itself
    "mm": lambda a, b: a[0] @ b[0],
    "bmm": lambda a, b: torch.bmm(a, b),
    "addmm": lambda a, b: torch.addmm(b[0, 0], a[0], b[0]),
    "baddbmm": lambda a, b: torch.baddbmm(b[:, :1], a, b),
}


@pytest.mark.slow
@given(op=st.sampled_from(sorted(PRODUCTS)), batch=st.integers(1, 3), n=st.integers(1, 4),
       k=st.integers(1, 4), m=st.integers(1, 4))
def test_counter_keeps_matrix_products_on_the_meta_device(op, batch, n, k, m):
    """mm, bmm, addmm and baddbmm on a meta copy: count computes their output shape itself and
    never falls back to a real copy; the rows' output shapes are those of the real product on
    the CPU."""

    def fn(x):  # x: (1, batch, n, k)
        return PRODUCTS[op](x[0], torch.ones(batch, k, m, device=x.device, dtype=x.dtype))

    model, shape = Fn(fn), (batch, n, k)
    counts = count(model, shape)
    real = fn(torch.zeros((1, *shape)))
    assert counts.device == "meta", f"{op} fell back to {counts.device}"
    assert counts.rows[0].output_shape == tuple(real.shape[1:])
