"""Hypothesis strategies shared by every topic: draw the shape first, then the values.

All floats are bounded and finite (``allow_nan=False``, explicit min/max); special values
(zeros, kinks, huge logits, constant batches) go into the tests as ``@example``s.

- tensors of any rank, dtype and device: ``tensor_shapes``, ``float_dtypes``, ``devices``,
  ``tensors``;
- numpy arrays: ``arrays``, ``matrices``, ``distributions``, ``labels``;
- geometry: ``conv1d_stacks``, ``conv2d_geometry`` (with ``conv2d_output_hw``),
  ``batchnorm_batches``, ``batchnorm_problems``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "BATCHNORM_EPSILONS",
    "CONV2D_KINDS",
    "FLOAT_DTYPES",
    "arrays",
    "as_torch",
    "batch_shapes",
    "batchnorm_batches",
    "batchnorm_problems",
    "conv1d_stacks",
    "conv2d_geometry",
    "conv2d_output_hw",
    "devices",
    "distributions",
    "float_dtypes",
    "labels",
    "matrices",
    "tensor_shapes",
    "tensors",
    "torch_dtypes",
]

FLOAT_DTYPES = (np.float64, np.float32)
_TORCH = {np.float64: torch.float64, np.float32: torch.float32}


def torch_dtypes() -> st.SearchStrategy[torch.dtype]:
    """float64 (the reference) and float32 (what users train in)."""
    return st.sampled_from([torch.float64, torch.float32])


def batch_shapes(
    *, min_rows: int = 1, max_rows: int = 6, min_cols: int = 1, max_cols: int = 6
) -> st.SearchStrategy[tuple[int, int]]:
    """An (N, C) shape."""
    return st.tuples(st.integers(min_rows, max_rows), st.integers(min_cols, max_cols))


def float_dtypes(*, half: bool = False) -> st.SearchStrategy[torch.dtype]:
    """float64 and float32; with ``half``, float16 and bfloat16 too (each has its row in
    ``dlmath_verify.checks.TOLERANCES``)."""
    half_dtypes = [torch.float16, torch.bfloat16] if half else []
    return st.sampled_from([torch.float64, torch.float32, *half_dtypes])


def devices() -> st.SearchStrategy[torch.device]:
    """The devices this machine has: the CPU, then CUDA and MPS where available."""
    found = [torch.device("cpu")]
    if torch.cuda.is_available():
        found.append(torch.device("cuda"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(torch.device("mps"))
    return st.sampled_from(found)


def tensor_shapes(
    *, min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[tuple[int, ...]]:
    """A shape of any rank in [min_dims, max_dims], each side in [min_side, max_side]."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


_NUMPY_OF = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}


@st.composite
def tensors(
    draw: st.DrawFn,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    *,
    dtype: torch.dtype | st.SearchStrategy[torch.dtype] = torch.float64,
    device: Any = "cpu",
    min_value: float = -10.0,
    max_value: float = 10.0,
    label: str = "tensor",
) -> torch.Tensor:
    """A torch tensor: its shape first (default: any rank up to 4, sides up to 5), then its
    dtype and device, then finite values in [min_value, max_value].

    Values are drawn in the dtype itself (float16 at width 16); bfloat16, which numpy lacks, is
    drawn in float32 and rounded to nearest, so a value may sit one bfloat16 step past a bound
    that bfloat16 cannot represent. ``dtype``, ``shape`` and ``device`` may be strategies.
    """
    if shape is None:
        shape = tensor_shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape, label=f"{label} shape")
    if isinstance(dtype, st.SearchStrategy):
        dtype = draw(dtype, label=f"{label} dtype")
    if isinstance(device, st.SearchStrategy):
        device = draw(device, label=f"{label} device")
    if dtype not in _NUMPY_OF and dtype != torch.bfloat16:
        raise ValueError(f"dtype must be torch.float64, float32, float16 or bfloat16, "
                         f"got {dtype!r}")
    np_dtype = _NUMPY_OF.get(dtype, np.float32)
    values = draw(arrays(tuple(shape), dtype=np_dtype, min_value=min_value,
                         max_value=max_value), label=label)
    t = torch.from_numpy(np.ascontiguousarray(values)).to(dtype=dtype, device=device)
    note(f"{label}: shape {tuple(t.shape)}, {t.dtype}, {t.device}"
         + (f", values in [{float(t.min()):.4g}, {float(t.max()):.4g}]" if t.numel() else ""))
    return t


@st.composite
def arrays(
    draw: st.DrawFn,
    shape: tuple[int, ...],
    *,
    dtype: type = np.float64,
    min_value: float = -10.0,
    max_value: float = 10.0,
) -> np.ndarray:
    """A numpy array of the given shape with finite values in [min_value, max_value]."""
    width = {np.dtype(np.float32): 32, np.dtype(np.float16): 16}.get(np.dtype(dtype), 64)
    elements = st.floats(
        min_value, max_value, allow_nan=False, allow_infinity=False, width=width
    )
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def matrices(
    draw: st.DrawFn,
    *,
    min_rows: int = 1,
    max_rows: int = 6,
    min_cols: int = 1,
    max_cols: int = 6,
    dtype: type = np.float64,
    min_value: float = -10.0,
    max_value: float = 10.0,
) -> np.ndarray:
    """A 2-D array: shape drawn first, then the values."""
    shape = draw(batch_shapes(min_rows=min_rows, max_rows=max_rows,
                              min_cols=min_cols, max_cols=max_cols))
    return draw(arrays(shape, dtype=dtype, min_value=min_value, max_value=max_value))


@st.composite
def distributions(draw: st.DrawFn, rows: int, cols: int, *, one_hot: bool = False,
                  dtype: type = np.float64) -> np.ndarray:
    """Rows that are probability distributions (nonnegative, summing to one).

    Weights are drawn as small integers and normalised, so each row sums to one up to one
    rounding; ``one_hot`` gives rows of the identity.
    """
    if one_hot:
        idx = draw(labels(rows, cols))
        return np.eye(cols, dtype=dtype)[idx]
    w = draw(hnp.arrays(np.int64, (rows, cols), elements=st.integers(0, 20)))
    w[:, 0] += (w.sum(axis=1) == 0)  # no all-zero row
    return (w / w.sum(axis=1, keepdims=True)).astype(dtype)


def labels(rows: int, classes: int) -> st.SearchStrategy[np.ndarray]:
    """Integer class labels in [0, classes)."""
    return hnp.arrays(np.int64, (rows,), elements=st.integers(0, classes - 1))


def as_torch(x: np.ndarray) -> torch.Tensor:
    """A torch tensor sharing x's dtype (float32 stays float32)."""
    return torch.from_numpy(np.asarray(x).copy(order="C"))  # keeps 0-d arrays 0-d


# ------------------------------------------------------------------ convolution geometry


@st.composite
def conv1d_stacks(draw: st.DrawFn, *, max_depth: int = 4, max_n: int = 12
                  ) -> tuple[int, tuple[int, ...]]:
    """(n0, filters): a deep 1-D conv net (no padding, stride 1) whose lengths stay ≥ 1
    (n_ℓ = n_{ℓ−1} − f_ℓ + 1)."""
    n0 = draw(st.integers(1, max_n), label="n0")
    depth = draw(st.integers(1, max_depth), label="depth")
    filters, n = [], n0
    for _ in range(depth):
        f = draw(st.integers(1, n), label="f")
        filters.append(f)
        n = n - f + 1
    return n0, tuple(filters)


# The corners of 2-D convolution geometry that conv2d_geometry draws.
CONV2D_KINDS = ["general", "kernel_fills_padded_input", "stride_exceeds_kernel", "one_by_one"]


@st.composite
def conv2d_geometry(draw: st.DrawFn, kind: str, *, max_hw: int = 7):
    """(N, C_in, C_out, (H, W), (k_h, k_w), stride, padding, dilation) of the given kind:

    ``general``; ``kernel_fills_padded_input`` (one output position per axis);
    ``stride_exceeds_kernel`` (input positions no output sees); ``one_by_one`` (1×1 kernels).
    Every geometry has at least one output position (see ``conv2d_output_hw``).
    """
    if kind not in CONV2D_KINDS:
        raise ValueError(f"kind must be one of {CONV2D_KINDS}, got {kind!r}")
    n, c_in, c_out = (draw(st.integers(1, m), label=lab)
                      for m, lab in ((2, "N"), (3, "C_in"), (3, "C_out")))
    hw, khw, s, p, d = [], [], [], [], []
    for _ax in range(2):
        k = 1 if kind == "one_by_one" else draw(st.integers(1, 4), label="k")
        dil = draw(st.integers(1, 2), label="dilation")
        span = dil * (k - 1) + 1
        pad = draw(st.integers(0, 2), label="padding")
        if kind == "kernel_fills_padded_input":
            pad = draw(st.integers(0, (span - 1) // 2), label="padding")
            size = span - 2 * pad  # the kernel covers the padded input exactly: one output
        else:
            size = draw(st.integers(max(1, span - 2 * pad), max(max_hw, span)), label="size")
        if kind == "stride_exceeds_kernel":
            stride = draw(st.integers(span + 1, span + 3), label="stride")
        else:
            stride = draw(st.integers(1, 3), label="stride")
        hw.append(size), khw.append(k), s.append(stride), p.append(pad), d.append(dil)
    geometry = (n, c_in, c_out, tuple(hw), tuple(khw), tuple(s), tuple(p), tuple(d))
    note(f"geometry {kind}: {geometry}")
    return geometry


def conv2d_output_hw(hw, khw, s, p, d) -> tuple[int, int]:
    """⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 per axis: the output size of a 2-D convolution."""
    return tuple((hw[a] + 2 * p[a] - d[a] * (khw[a] - 1) - 1) // s[a] + 1 for a in range(2))


# ------------------------------------------------------------------ batch normalisation


@st.composite
def batchnorm_batches(draw: st.DrawFn, *, dtype=np.float64, max_rows: int = 6,
                      max_cols: int = 5, min_rows: int = 2) -> np.ndarray:
    """A (N, C) batch: shape, then unit values, then a per-batch scale and offset.

    Scale in {1e-3, 1, 1e3} and offset in {0, ±100} exercise the normalisation itself.
    """
    n = draw(st.integers(min_rows, max_rows), label="N")
    c = draw(st.integers(1, max_cols), label="C")
    z = draw(arrays((n, c), dtype=np.float64, min_value=-1, max_value=1))
    scale = draw(st.sampled_from([1.0, 1e-3, 1e3]), label="scale")
    offset = draw(st.sampled_from([0.0, 100.0, -100.0]), label="offset")
    return (offset + scale * z).astype(dtype)


BATCHNORM_EPSILONS = st.sampled_from([1e-5, 1e-3, 0.1])


@st.composite
def batchnorm_problems(draw: st.DrawFn, *, dtype=np.float64,
                       epsilons: st.SearchStrategy[float] = BATCHNORM_EPSILONS,
                       **kw) -> tuple[np.ndarray, ...]:
    """(x, γ, β, g, ε): a batch (``batchnorm_batches(**kw)``), affine parameters, an upstream
    gradient and the ε of the variance."""
    x = draw(batchnorm_batches(dtype=dtype, **kw))
    c = x.shape[1]
    gamma = draw(arrays((c,), dtype=dtype, min_value=-3, max_value=3), label="gamma")
    beta = draw(arrays((c,), dtype=dtype, min_value=-3, max_value=3), label="beta")
    g = draw(arrays(x.shape, dtype=dtype, min_value=-2, max_value=2), label="g")
    return x, gamma, beta, g, draw(epsilons, label="eps")
