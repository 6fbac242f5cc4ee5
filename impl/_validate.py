"""Input validation shared by the kernels: a clear ``ValueError``/``TypeError`` naming the
argument and what was expected, never a silent wrong answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

Array = np.ndarray | torch.Tensor

_FLOAT_DTYPES = (np.float32, np.float64)
_TORCH_FLOAT = (torch.float32, torch.float64)


def require_array(name: str, x: Any) -> Array:
    """x must be a numpy array or a torch tensor of float32/float64."""
    if isinstance(x, torch.Tensor):
        if x.dtype not in _TORCH_FLOAT:
            raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
        return x
    if isinstance(x, np.ndarray):
        if x.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
        return x
    raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}")


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
    finite = torch.isfinite(x).all() if isinstance(x, torch.Tensor) else np.isfinite(x).all()
    if not bool(finite):
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


def batch(name: str, x: Any, *, layout: str = "(N, C)") -> Array:
    """A finite, non-empty 2-D float batch."""
    x = require_array(name, x)
    require_ndim(name, x, 2, layout)
    require_nonempty(name, x, layout)
    require_finite(name, x)
    return x
