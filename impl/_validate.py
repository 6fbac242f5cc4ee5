"""Input validation shared by the kernels: a clear ``ValueError``/``TypeError`` naming the
argument (as the caller wrote it) and what was expected, never a silent wrong answer.

The contract (``docs/contracts.md``), checked in this order so that nothing reads the values
of an argument before its kind, dtype and device are known to be right:

1. kind (numpy array / torch tensor / number) and dtype (float32 or float64): ``TypeError``;
2. device: the kernels compute on values, so a tensor must live on the CPU; a ``meta`` tensor
   (shapes without values) is refused with a ``ValueError`` before any value is read;
3. arguments that go together share kind, dtype and device: ``TypeError``;
4. shape (rank, sizes, non-empty): ``ValueError`` with the expected layout;
5. values (finite, ranges): ``ValueError``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

Array = np.ndarray | torch.Tensor

_FLOAT_DTYPES = (np.float32, np.float64)
_TORCH_FLOAT = (torch.float32, torch.float64)


def require_device(name: str, x: torch.Tensor) -> None:
    """A tensor the kernels read must hold values on the CPU (``meta`` holds none)."""
    if x.device.type != "cpu":
        raise ValueError(f"{name} must be a CPU tensor (the kernel reads its values), got "
                         f"device {x.device.type!r}")


def require_array(name: str, x: Any, *, kind: str | None = None) -> Array:
    """x must be a numpy array or a torch tensor (``kind="numpy"``/``"torch"``: only that) of
    float32/float64, on any device (see :func:`require_values` for kernels that read values)."""
    if isinstance(x, torch.Tensor) and kind != "numpy":
        if x.dtype not in _TORCH_FLOAT:
            raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
        return x
    if isinstance(x, np.ndarray) and kind != "torch":
        if x.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
        return x
    what = {"numpy": "a numpy array", "torch": "a torch tensor"}.get(
        kind or "", "a numpy array or a torch tensor")
    raise TypeError(f"{name} must be {what}, got {type(x).__name__}")


def require_values(name: str, x: Any, *, kind: str | None = None) -> Array:
    """:func:`require_array` for a kernel that reads the values: a tensor must be on the CPU,
    checked before anything reads it."""
    x = require_array(name, x, kind=kind)
    if isinstance(x, torch.Tensor):
        require_device(name, x)
    return x


def namespace(x: Array) -> Any:
    """numpy or torch, whichever x belongs to (both accept axis=/keepdims=)."""
    return torch if isinstance(x, torch.Tensor) else np


def require_ndim(name: str, x: Array, ndim: int, layout: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D with shape {layout}, got shape "
                         f"{tuple(x.shape)}")


def require_nonempty(name: str, x: Array, layout: str) -> None:
    if any(d == 0 for d in x.shape):
        raise ValueError(f"{name} must be non-empty with shape {layout}, got shape "
                         f"{tuple(x.shape)}")


def require_finite(name: str, x: Array) -> None:
    if isinstance(x, torch.Tensor):
        require_device(name, x)  # never read the values of a tensor that has none
        finite = bool(torch.isfinite(x.detach()).all())
    else:
        finite = bool(np.isfinite(x).all())
    if not finite:
        raise ValueError(f"{name} must be finite (no NaN or inf)")


def require_same_shape(name: str, x: Array, other_name: str, other: Array) -> None:
    if tuple(x.shape) != tuple(other.shape):
        raise ValueError(f"{name} must have the shape of {other_name} {tuple(other.shape)}, "
                         f"got {tuple(x.shape)}")


def require_same_kind(name: str, x: Array, other_name: str, other: Array,
                      error: type[Exception] = TypeError) -> None:
    """x and other are both numpy or both torch, share a dtype and (torch) a device.

    Raises ``error`` (``TypeError`` unless a kernel's contract asks for ``ValueError``)
    naming both arguments.
    """
    if isinstance(x, torch.Tensor) != isinstance(other, torch.Tensor):
        raise error(f"{name} and {other_name} must both be numpy arrays or both torch "
                    f"tensors, got {type(x).__name__} and {type(other).__name__}")
    if x.dtype != other.dtype:
        raise error(f"{name} and {other_name} must share a dtype, got {x.dtype} and "
                    f"{other.dtype}")
    if isinstance(x, torch.Tensor) and x.device != other.device:
        raise error(f"{name} and {other_name} must be on one device, got {x.device} and "
                    f"{other.device}")


def batch(name: str, x: Any, *, layout: str = "(N, C)", kind: str | None = None) -> Array:
    """A finite, non-empty 2-D float batch."""
    x = require_values(name, x, kind=kind)
    require_ndim(name, x, 2, layout)
    require_nonempty(name, x, layout)
    require_finite(name, x)
    return x


def require_number(name: str, v: Any, *, low: float | None = None, high: float | None = None,
                   low_open: bool = False, high_open: bool = False, what: str = "") -> float:
    """A real, finite number (Python or numpy scalar, not bool) in the given range.

    Wrong kind → ``TypeError``; NaN, inf or out of range → ``ValueError``, naming ``name``.
    """
    label = f"{name} ({what})" if what else name
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer |
                                                           np.floating):
        raise TypeError(f"{label} must be a real number, got {type(v).__name__} {v!r}")
    f = float(v)
    lo = "" if low is None else f"{'>' if low_open else '≥'} {low}"
    hi = "" if high is None else f"{'<' if high_open else '≤'} {high}"
    rng = " and ".join(s for s in (lo, hi) if s)
    expected = f"a finite number{' ' + rng if rng else ''}"
    if not math.isfinite(f):
        raise ValueError(f"{label} must be {expected}, got {v!r}")
    if low is not None and (f < low or (low_open and f == low)):
        raise ValueError(f"{label} must be {expected}, got {v!r}")
    if high is not None and (f > high or (high_open and f == high)):
        raise ValueError(f"{label} must be {expected}, got {v!r}")
    return f


def require_int(name: str, v: Any, *, low: int | None = None, what: str = "") -> int:
    """An integer (Python or numpy, not bool) ≥ ``low``: ``TypeError`` for another kind,
    ``ValueError`` below the bound, naming ``name``."""
    label = f"{name} ({what})" if what else name
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
        raise TypeError(f"{label} must be an integer, got {type(v).__name__} {v!r}")
    if low is not None and v < low:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(low, "an integer")
        raise ValueError(f"{label} must be {what} (≥ {low}), got {v!r}")
    return int(v)
