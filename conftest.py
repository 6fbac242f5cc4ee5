"""Root conftest of the suite: the checker's plugin, float64 as the reference precision, and
every claim of ``derivations/`` registered before collection.

The checking machinery (profiles, claims summary, tolerances, strategies) lives in the
installable package ``dlmath_verify``; when it is installed its ``pytest11`` entry point has
already loaded the plugin under the same name, and the line below is a no-op.
"""

from __future__ import annotations

import torch

from derivations.registry import load_all

pytest_plugins = ["dlmath_verify.plugin"]

# Float64 is the reference precision for gradient truth: modules and tensors made without an
# explicit dtype are float64. Float32 is always asked for explicitly.
torch.set_default_dtype(torch.float64)

load_all()
