"""The numpy LayerNorm checked with dlmath_verify's public API only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from layernorm_kernel import layernorm_backward, layernorm_forward

from dlmath_verify import assert_close, check_backward
from dlmath_verify.strategies import tensor_shapes, tensors

EPS = 1e-5


def reference(x, gamma, beta):
    """The torch forward that autograd and forward mode differentiate."""
    return F.layer_norm(x, x.shape[-1:], gamma, beta, eps=EPS)


def backward(g, x, gamma, beta):
    """check_backward's convention: backward(grad_output, *inputs) -> one gradient per input."""
    _, cache = layernorm_forward(x, gamma, beta, EPS)
    return layernorm_backward(g, cache)


def rounding_growth(x, gamma, beta):
    """Tolerance factor from a rounding-error bound, not tuned: x − μ loses |x|·u to
    cancellation and r = 1/√(σ² + ε) amplifies it, inside length-D means (D terms)."""
    d = x.shape[-1]
    var = x.var(dim=-1, unbiased=False)
    if x.numel() == 0:
        return 1.0
    return d * (1 + float(x.abs().max()) * float((var + EPS).rsqrt().max()))


@pytest.mark.claim("layernorm.backward", kind="implementation")
def test_layernorm_backward_is_the_vjp_of_the_forward():
    """Against autograd, the dot-product test and the full Jacobian; float64 and float32."""
    check_backward(reference, backward, ["n d", "d", "d"], backend="numpy",
                   dims={"n": (1, 4), "d": (1, 6)}, growth=rounding_growth,
                   claim="layernorm.backward")


@pytest.mark.claim("layernorm.backward", kind="implementation")
def test_layernorm_backward_over_batches_of_any_rank():
    """Leading axes are batch axes: (B, T, D) inputs, drawn by a strategy of shapes."""
    shapes = st.tuples(tensor_shapes(min_dims=1, max_dims=2, max_side=3),
                       st.integers(1, 4)).map(lambda s: ((*s[0], s[1]), (s[1],), (s[1],)))
    check_backward(reference, backward, shapes, backend="numpy", dtypes=(torch.float64,),
                   claim="layernorm.backward")


@pytest.mark.claim("layernorm.forward", kind="implementation")
@given(x=tensors(tensor_shapes(min_dims=1, max_dims=3), min_value=-3, max_value=3,
                 label="x"), data=st.data())
def test_layernorm_forward_matches_torch_layer_norm(x, data):
    d = x.shape[-1]
    gamma = data.draw(tensors((d,), label="gamma"))
    beta = data.draw(tensors((d,), label="beta"))
    y, _ = layernorm_forward(x.numpy(), gamma.numpy(), beta.numpy(), EPS)
    assert_close(y, reference(x, gamma, beta).numpy(), claim="layernorm.forward")
    assert y.dtype == np.float64
