"""dlmath_verify: the checking machinery of the verification suite for the mathematics of deep
learning, usable as a library and as a pytest plugin (``dlmath_verify.plugin``).

- ``dlmath_verify.checks``: the per-dtype tolerance table, ``assert_close``, the dot-product
  (VJP) test;
- ``dlmath_verify.backward``: ``check_backward``, one call that checks a hand-written backward
  pass against autograd, the dot-product test and the full Jacobian;
- ``dlmath_verify.symbolic``: the exact identity checker (``prove_identity``);
- ``dlmath_verify.strategies``: Hypothesis strategies (shape first, then values);
- ``dlmath_verify.registry``: claims (id, source, statement, sympy formula).

The public API is re-exported here: ``check_backward``, ``assert_close``, ``assert_vjp``,
``tolerance``, ``TOLERANCES``, ``claim``. They are imported on first use, so that loading the
pytest plugin does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TOLERANCES", "assert_close", "assert_vjp", "check_backward", "claim", "tolerance"]

_HOME = {
    "TOLERANCES": "dlmath_verify.checks",
    "assert_close": "dlmath_verify.checks",
    "assert_vjp": "dlmath_verify.checks",
    "tolerance": "dlmath_verify.checks",
    "check_backward": "dlmath_verify.backward",
    "claim": "dlmath_verify.registry",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'dlmath_verify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
