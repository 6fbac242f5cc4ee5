r"""The numpy modules of ``004_a5042f8004da492f.txt`` §1.2, with the practical's interface.

Each module has ``forward`` and ``backward`` side by side. Inputs are batches (N, C) of
float64 or float32 numpy arrays.

* ``SoftMaxModule``: ``forward(x)`` → softmax per row; ``backward(dout)`` → dx, the VJP
  :math:`s \odot (dout - \langle dout, s\rangle)` (needs the cache of ``forward``).
* ``CrossEntropyModule``: ``forward(x, y)`` → :math:`\frac1N\sum_n -\sum_i y_{ni}\log x_{ni}`
  for probabilities x and one-hot (or distribution) targets y; ``backward(x, y)`` →
  :math:`-y / (N x)`. Stateless: it depends on its arguments only, never on a previous
  ``forward`` (the practical calls it on a fresh instance).
  It refuses only what leaves the loss undefined: NaN/inf anywhere, or x ≤ 0 where y > 0.
  Values of x a little above 1 are accepted, because the practical's central-difference
  check evaluates the loss at x ± 1e-5 (with one class, at x = 1.00001).

Chained, the two backward passes give (s − y)/N, the claim ``cross_entropy.softmax_chain``.

* ``LinearModule(in_features, out_features)``: ``params``/``grads`` dicts with ``'weight'``
  (out, in) and ``'bias'`` (out,); ``forward(x)`` → :math:`x W^\top + b`, reading
  ``params['weight']`` afresh on every call; ``backward(dout)`` fills
  :math:`\nabla_W = dout^\top x`, :math:`\nabla_b = \sum_n dout_n` (summed over the batch) and
  returns :math:`dx = dout\,W` (§1.1 a–c).
* ``ReLUModule``: ``forward(x)`` → max(0, x); ``backward(dout)`` → :math:`dout\odot𝟙(x > 0)`
  (0 at the kink, as torch).
"""

from __future__ import annotations

import numpy as np

from impl._validate import batch, require_int, require_number, require_same_kind, require_same_shape
from impl.softmax import softmax, softmax_backward

__all__ = ["CrossEntropyModule", "LinearModule", "ReLUModule", "SoftMaxModule"]


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
        return self._out.copy()  # the cache stays private: the caller may write to its result

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._out is None:
            raise ValueError("SoftMaxModule.backward needs the output of a forward call first")
        dout = _numpy_batch("dout", dout)
        require_same_kind("dout", dout, "the forward input x", self._out)
        require_same_shape("dout", dout, "the forward output", self._out)
        return softmax_backward(self._out, dout)


class CrossEntropyModule:
    """Batch-mean cross-entropy of probabilities x against targets y (rows of y sum to one
    within C·1e-12, C·1e-6 in float32, the bound included)."""

    @staticmethod
    def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = _numpy_batch("x", x), _numpy_batch("y", y)
        require_same_kind("y", y, "x", x)
        require_same_shape("y", y, "x", x)
        tol = 1e-6 if y.dtype == np.float32 else 1e-12
        if (y < 0).any() or (np.abs(y.sum(axis=1) - 1) > tol * y.shape[1]).any():
            raise ValueError("y rows must be probability distributions (one-hot targets)")
        if ((x <= 0) & (y > 0)).any():
            raise ValueError("x must be positive wherever y is: log x is undefined there")
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


class LinearModule:
    r"""x̃ = x Wᵀ + b for a batch x (N, in_features); W (out_features, in_features), b (out,).

    Initialised as in the practical: W ~ N(0, std²) with std = 1e-4 (``weight_std``), b = 0,
    drawn from ``rng`` (default ``np.random.default_rng(0)``, so construction is deterministic).
    ``forward`` reads ``params['weight']`` and ``params['bias']`` afresh on every call (the
    practical's test perturbs the weight in place between calls) and caches x and the W it used;
    ``backward(dout)`` is the VJP at that point (``004_a5042f8004da492f.txt`` §1.1 a–c).
    """

    def __init__(self, in_features: int, out_features: int, *, weight_std: float = 1e-4,
                 rng: np.random.Generator | None = None) -> None:
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            require_int(name, v, low=1)
        weight_std = require_number("weight_std", weight_std, low=0)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed))"
                            f" or None, got {type(rng).__name__}")
        rng = np.random.default_rng(0) if rng is None else rng
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.params = {
            "weight": rng.normal(0.0, weight_std, (self.out_features, self.in_features)),
            "bias": np.zeros(self.out_features),
        }
        self.grads = {"weight": np.zeros_like(self.params["weight"]),
                      "bias": np.zeros_like(self.params["bias"])}
        self._x: np.ndarray | None = None
        self._w: np.ndarray | None = None

    def _weight_and_bias(self) -> tuple[np.ndarray, np.ndarray]:
        w, b = self.params["weight"], self.params["bias"]
        expected = (self.out_features, self.in_features)
        if not isinstance(w, np.ndarray) or w.shape != expected:
            raise ValueError(f"params['weight'] must be a numpy array of shape (out_features, "
                             f"in_features) = {expected}, got shape {np.shape(w)}")
        if not isinstance(b, np.ndarray) or b.shape != (self.out_features,):
            raise ValueError(f"params['bias'] must be a numpy array of shape (out_features,) = "
                             f"({self.out_features},), got shape {np.shape(b)}")
        return w, b

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = _numpy_batch("x", x)
        w, b = self._weight_and_bias()
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have shape (N, in_features) = (N, {self.in_features}) to "
                             f"match params['weight'] of shape {w.shape}, got shape {x.shape}")
        self._x, self._w = x.copy(), w.copy()  # copies: the caller may change x afterwards
        return x @ w.T + b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._x is None or self._w is None:
            raise ValueError("LinearModule.backward needs the input cached by a forward call "
                             "first")
        dout = _numpy_batch("dout", dout)
        expected = (self._x.shape[0], self.out_features)
        if dout.shape != expected:
            raise ValueError(f"dout must have shape (N, out_features) = {expected} (the forward "
                             f"output for x of shape {self._x.shape}), got shape {dout.shape}")
        self.grads["weight"] = dout.T @ self._x  # Σ_n dout_n x_nᵀ: summed over the batch
        self.grads["bias"] = dout.sum(axis=0)  # ∂x̃/∂b = I, summed over the batch
        return dout @ self._w  # ∂x̃/∂x = W


class ReLUModule:
    """max(0, x) elementwise; ``backward`` masks dout with 𝟙(x > 0) cached by ``forward``."""

    def __init__(self) -> None:
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = _numpy_batch("x", x)
        self._mask, self._dtype = x > 0, x.dtype
        return np.where(self._mask, x, np.zeros((), dtype=x.dtype))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self._mask is None:
            raise ValueError("ReLUModule.backward needs the input cached by a forward call first")
        dout = _numpy_batch("dout", dout)
        if dout.dtype != self._dtype:
            raise TypeError(f"dout and the forward input x must share a dtype, got {dout.dtype} "
                            f"and {self._dtype}")
        if dout.shape != self._mask.shape:
            raise ValueError(f"dout must have the shape of the forward input "
                             f"{self._mask.shape}, got shape {dout.shape}")
        return np.where(self._mask, dout, np.zeros((), dtype=dout.dtype))
