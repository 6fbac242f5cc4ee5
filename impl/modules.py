r"""The numpy modules of ``004_a5042f8004da492f.txt`` §1.2, with the practical's interface.

Each module has ``forward`` and ``backward`` side by side. Inputs are batches (N, C) of
float64 or float32 numpy arrays.

* ``SoftMaxModule``: ``forward(x)`` → softmax per row; ``backward(dout)`` → dx, the VJP
  :math:`s \odot (dout - \langle dout, s\rangle)` (needs the cache of ``forward``).
* ``CrossEntropyModule``: ``forward(x, y)`` → :math:`\frac1N\sum_n -\sum_i y_{ni}\log x_{ni}`
  for probabilities x and one-hot (or distribution) targets y; ``backward(x, y)`` →
  :math:`-y / (N x)`. Stateless: it depends on its arguments only, never on a previous
  ``forward`` (the practical calls it on a fresh instance).

Chained, the two backward passes give (s − y)/N, the claim ``cross_entropy.softmax_chain``.
"""

from __future__ import annotations

import numpy as np

from impl._validate import batch, require_same_kind, require_same_shape
from impl.softmax import softmax, softmax_backward

__all__ = ["CrossEntropyModule", "SoftMaxModule"]


def _numpy_batch(name: str, x: object) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (these are the numpy modules), got "
                        f"{type(x).__name__}")
    return batch(name, x)


class SoftMaxModule:
    """Softmax over the last axis; ``backward`` uses the output cached by ``forward``."""

    def __init__(self) -> None:
        self._out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._out = softmax(_numpy_batch("x", x))
        return self._out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._out is None:
            raise ValueError("SoftMaxModule.backward needs the output of a forward call first")
        dout = _numpy_batch("dout", dout)
        require_same_shape("dout", dout, "the forward output", self._out)
        return softmax_backward(self._out, dout)


class CrossEntropyModule:
    """Batch-mean cross-entropy of probabilities x against targets y (rows of y sum to one)."""

    @staticmethod
    def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = _numpy_batch("x", x), _numpy_batch("y", y)
        require_same_kind("y", y, "x", x)
        require_same_shape("y", y, "x", x)
        if (x < 0).any() or (x > 1).any():
            raise ValueError("x must hold probabilities in [0, 1]")
        tol = 1e-6 if y.dtype == np.float32 else 1e-12
        if (y < 0).any() or (np.abs(y.sum(axis=1) - 1) > tol * y.shape[1]).any():
            raise ValueError("y rows must be probability distributions (one-hot targets)")
        if ((x == 0) & (y > 0)).any():
            raise ValueError("x must be positive wherever y is: the loss is infinite there")
        return x, y

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = self._check(x, y)
        mask = y > 0  # 0·log 0 = 0
        return -np.sum(y[mask] * np.log(x[mask])) / x.shape[0]

    def backward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = self._check(x, y)
        dx = np.zeros_like(x)
        mask = y > 0
        dx[mask] = -y[mask] / x[mask]
        return dx / x.shape[0]
