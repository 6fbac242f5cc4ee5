"""The numeric witnesses: one per-dtype tolerance table, one comparison, one dot-product test.

Every comparison asserts shape and dtype before values, and a failure names the claim, the
shapes, the largest difference, where it is, and both values there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "MEANINGFUL_FRACTION",
    "TOLERANCES",
    "ClaimAssertionError",
    "Tolerance",
    "VacuousToleranceError",
    "allowed_error",
    "assert_close",
    "assert_vjp",
    "is_meaningful",
    "record_counterexample",
    "require_meaningful",
    "to_numpy",
    "tolerance",
]


class ClaimAssertionError(AssertionError):
    """An assertion about one claim failed; ``claim`` is its id (or None where the caller named
    none). The claims summary blames a failing test on the claims its failing assertions name,
    and only on the test's markers when a failure names no claim."""

    def __init__(self, message: str, *, claim: str | None = None) -> None:
        super().__init__(message)
        self.claim = claim


def names_its_claim(check: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an assertion helper taking ``claim=``: its AssertionErrors become
    ClaimAssertionErrors carrying that claim (traceback kept, the wrapper hidden by pytest)."""

    @functools.wraps(check)
    def checked(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        try:
            return check(*args, **kwargs)
        except ClaimAssertionError:
            raise
        except AssertionError as e:
            err = ClaimAssertionError(str(e), claim=kwargs.get("claim"))
            raise err.with_traceback(e.__traceback__) from None

    return checked


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


# The one table, rtol/atol: torch.testing.assert_close's defaults (torch/testing/_comparison.py,
# _DTYPE_PRECISIONS, read in torch 2.13): float64 1e-7/1e-7, float32 1.3e-6/1e-5,
# float16 1e-3/1e-5, bfloat16 1.6e-2/1e-5. A comparison of a computation whose rounding error
# provably grows with its size (a length-K reduction, k momentum steps) passes ``growth`` = that
# factor, derived from the size, never tuned until green.
TOLERANCES: dict[torch.dtype, Tolerance] = {
    torch.float64: Tolerance(rtol=1e-7, atol=1e-7),
    torch.float32: Tolerance(rtol=1.3e-6, atol=1e-5),
    torch.float16: Tolerance(rtol=1e-3, atol=1e-5),
    torch.bfloat16: Tolerance(rtol=1.6e-2, atol=1e-5),
}
"""The per-dtype tolerance table, and the policy that makes a comparison a check.

An entry allows ``|actual − expected| ≤ atol·growth + rtol·growth·|expected|``. **Tolerance
policy**: an assertion whose allowed error exceeds ``MEANINGFUL_FRACTION`` (10%) of the
magnitude being checked (max |expected| over the compared array) is not a check — it cannot
fail for any answer of the right size. Such draws are excluded with a stated reason (better:
valid inputs are drawn instead) or checked in float64, never asserted at the loose tolerance.
``require_meaningful`` enforces this before an ``assert_close``; ``is_meaningful`` asks.
"""

#: the largest allowed error, as a fraction of the magnitude checked, that is still a check
MEANINGFUL_FRACTION = 0.1

_NUMPY_TO_TORCH = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32,
                   np.dtype(np.float16): torch.float16}


def _torch_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    return _NUMPY_TO_TORCH[np.dtype(dtype)]


def tolerance(dtype: Any) -> Tolerance:
    """The table's entry for a torch or numpy dtype."""
    return TOLERANCES[_torch_dtype(dtype)]


class VacuousToleranceError(ValueError):
    """An assertion would allow an error larger than the policy's fraction of its magnitude."""


def allowed_error(expected: Any, *, dtype: Any = None, growth: float = 1.0) -> tuple[float,
                                                                                       float]:
    """(the largest error ``assert_close`` would allow on ``expected``, the magnitude checked
    max |expected|), for the table row of ``dtype`` (default: expected's dtype)."""
    e = to_numpy(expected).astype(np.float64)
    tol = tolerance(dtype if dtype is not None else _dtype_of(expected))
    scale = float(np.abs(e).max()) if e.size else 0.0
    return tol.atol * growth + tol.rtol * growth * scale, scale


def is_meaningful(expected: Any, *, dtype: Any = None, growth: float = 1.0,
                  fraction: float = MEANINGFUL_FRACTION) -> bool:
    """True when the comparison with ``expected`` at this tolerance could fail (the policy
    of ``TOLERANCES``)."""
    allowed, scale = allowed_error(expected, dtype=dtype, growth=growth)
    return allowed <= fraction * scale


def require_meaningful(expected: Any, *, claim: str, what: str = "", dtype: Any = None,
                       growth: float = 1.0, fraction: float = MEANINGFUL_FRACTION) -> None:
    """Refuse (``VacuousToleranceError``) an assertion whose allowed error exceeds ``fraction``
    of the magnitude it checks: exclude the draw with a reason, or check it in float64."""
    allowed, scale = allowed_error(expected, dtype=dtype, growth=growth)
    if not allowed <= fraction * scale:
        raise VacuousToleranceError(
            f"claim {claim}{f' ({what})' if what else ''}: the allowed error {allowed:.3g} "
            f"exceeds {fraction:.0%} of the magnitude checked (max |expected| = {scale:.3g}); "
            "the assertion could not fail: draw inputs where it can, or check in float64")


def to_numpy(x: Any) -> np.ndarray:
    """A numpy array of x (bfloat16, which numpy lacks, becomes float32: exact)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    return np.asarray(x)


def _dtype_of(x: Any) -> Any:
    return x.dtype if isinstance(x, torch.Tensor | np.ndarray) else np.asarray(x).dtype


def _label(claim: str | None, what: str) -> str:
    if claim is None:
        return what or "values"
    return f"claim {claim}" + (f" ({what})" if what else "")


@names_its_claim
def assert_close(
    actual: Any,
    expected: Any,
    *,
    claim: str | None = None,
    what: str = "",
    dtype: Any = None,
    growth: float = 1.0,
    check_dtype: bool = True,
) -> None:
    """Assert ``|actual − expected| ≤ atol·growth + rtol·growth·|expected|`` elementwise.

    ``dtype`` selects the table row (default: the dtype of ``actual``). With ``check_dtype``
    the two dtypes must agree (a float32 kernel is compared with a float32 reference, or
    ``check_dtype=False`` with a float64 truth at float32's tolerance). ``claim`` names the
    claim the assertion is about (optional outside this suite); the message starts with it.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    label = _label(claim, what)
    a_dtype, e_dtype = _dtype_of(actual), _dtype_of(expected)
    a, e = to_numpy(actual), to_numpy(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{label}: shape {a.shape} != expected shape {e.shape}")
    if check_dtype and _torch_dtype(a_dtype) != _torch_dtype(e_dtype):
        raise AssertionError(f"{label}: dtype {a_dtype} != expected dtype {e_dtype}")
    tol = tolerance(dtype if dtype is not None else a_dtype)
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    if not np.array_equal(np.isnan(a64), np.isnan(e64)):
        where = np.argwhere(np.isnan(a64) != np.isnan(e64))[0]
        raise AssertionError(
            f"{label}: NaN pattern differs at index {tuple(int(i) for i in where)}: "
            f"actual {float(a64[tuple(where)])!r}, expected {float(e64[tuple(where)])!r}"
        )
    diff = np.abs(np.nan_to_num(a64 - e64, nan=0.0, posinf=np.inf, neginf=np.inf))
    allowed = tol.atol * growth + tol.rtol * growth * np.abs(e64)
    bad = ~(diff <= allowed)
    if bad.any():
        excess = np.where(bad, diff - allowed, -np.inf)
        idx = np.unravel_index(int(np.argmax(excess)), diff.shape) if diff.ndim else ()
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        raise AssertionError(
            f"{label}: values differ beyond rtol={tol.rtol:g}, atol={tol.atol:g}"
            f"{f' (×{growth:g} growth)' if growth != 1 else ''} in {int(bad.sum())} of "
            f"{diff.size} entries (shape {a.shape}, dtype {a_dtype}).\n"
            f"  largest difference {diff[worst]:.6g} at index {tuple(int(i) for i in worst)}: "
            f"actual {float(a64[worst])!r}, expected {float(e64[worst])!r}\n"
            f"  furthest outside tolerance at index {tuple(int(i) for i in idx)}: "
            f"actual {float(a64[idx])!r}, expected {float(e64[idx])!r}"
        )


@names_its_claim
def assert_vjp(
    forward: Callable[..., torch.Tensor],
    backward: Callable[[torch.Tensor], Sequence[Any] | Any],
    inputs: Sequence[torch.Tensor],
    u: torch.Tensor,
    v: Sequence[torch.Tensor],
    *,
    claim: str | None = None,
    growth: float = 1.0,
) -> None:
    r"""The dot-product test: :math:`\langle u, J v\rangle = \langle J^\top u, v\rangle`.

    ``forward`` is the reference forward expression in torch; ``J v`` comes from forward-mode
    AD (``torch.func.jvp``), independent of the hand-written ``backward(u)``, which returns one
    gradient per input (numpy or torch). u and v are drawn by the caller (Hypothesis).
    A missing term or a transpose shows up as a mismatch of the two scalars.
    """
    __tracebackhide__ = True
    prefix = f"claim {claim}: " if claim is not None else ""
    _, jv = torch.func.jvp(forward, tuple(inputs), tuple(v))
    grads = backward(u)
    if not isinstance(grads, tuple | list):
        grads = (grads,)
    if len(grads) != len(v):
        raise AssertionError(f"{prefix}backward returned {len(grads)} gradients, "
                             f"expected {len(v)}")
    for k, (g, vk) in enumerate(zip(grads, v, strict=True)):
        if tuple(to_numpy(g).shape) != tuple(vk.shape):
            raise AssertionError(f"{prefix}gradient {k} has shape "
                                 f"{tuple(to_numpy(g).shape)}, input has {tuple(vk.shape)}")
    lhs = float((u.double() * jv.double()).sum())
    terms = [to_numpy(g).astype(np.float64) * to_numpy(vk).astype(np.float64)
             for g, vk in zip(grads, v, strict=True)]
    rhs = float(sum(t.sum() for t in terms))
    scale = float((u.double().abs() * jv.double().abs()).sum()) + float(
        sum(np.abs(t).sum() for t in terms))
    tol = tolerance(u.dtype)
    allowed = growth * (tol.atol + tol.rtol * scale)
    if not abs(lhs - rhs) <= allowed:
        raise AssertionError(
            f"{prefix}dot-product test fails: <u, J v> = {lhs!r} (forward mode) but "
            f"<J^T u, v> = {rhs!r} (hand backward); difference {abs(lhs - rhs):.6g} > "
            f"{allowed:.3g} (input shapes {[tuple(x.shape) for x in inputs]}, "
            f"output shape {tuple(u.shape)})"
        )


# Counterexamples found for refuted claims, moved into the test report by conftest.py so that
# the claims summary (also under pytest-xdist) can show them.
_COUNTEREXAMPLES: dict[str, str] = {}


def record_counterexample(claim: str, text: str) -> None:
    """Remember the counterexample that refutes ``claim`` (the first one found is kept)."""
    _COUNTEREXAMPLES.setdefault(claim, text)


def pop_counterexamples() -> dict[str, str]:
    out = dict(_COUNTEREXAMPLES)
    _COUNTEREXAMPLES.clear()
    return out
