"""Hypothesis strategies shared by every topic: draw the shape first, then the values.

All floats are bounded and finite (``allow_nan=False``, explicit min/max); special values
(zeros, kinks, huge logits, constant batches) go into the tests as ``@example``s.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "FLOAT_DTYPES",
    "arrays",
    "as_torch",
    "batch_shapes",
    "distributions",
    "labels",
    "matrices",
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
    width = 32 if np.dtype(dtype) == np.float32 else 64
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
