"""Register this project's claims with the checker, so tests can name them in
``@pytest.mark.claim(...)`` and the run ends with a claims summary."""

from dlmath_verify.registry import REGISTRY, claim

if "layernorm.backward" not in REGISTRY:
    claim("layernorm.backward",
          source="layernorm_kernel/layernorm.py (Ba, Kiros, Hinton 2016, Layer Normalization)",
          statement="the hand-written LayerNorm backward is the vector-Jacobian product of "
                    "its forward",
          witnesses=("implementation",))
    claim("layernorm.forward",
          source="layernorm_kernel/layernorm.py",
          statement="the numpy LayerNorm forward equals torch.nn.functional.layer_norm",
          witnesses=("implementation",))
