"""The checker used from another repository: the example project fails on a planted bug, the
plugin works in a foreign project without this suite's conftest, and the wheel installs only
the namespaced package.

Each test runs pytest (or pip) in a subprocess on a copy in tmp_path; ``PYTHONPATH`` points at
this repository, so the tests also run where the project is not pip-installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "own_kernel"


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HYPOTHESIS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "dlmath_verify.plugin", "-p", "no:cacheprovider",
         *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.nightly
def test_example_project_fails_when_the_mean_of_g_term_is_dropped_from_its_backward(tmp_path):
    """Planted bug: ∂x = r (h − x̂ mean(h x̂)) without the − mean(h) term."""
    project = tmp_path / "own_kernel"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    kernel = project / "layernorm_kernel" / "layernorm.py"
    source = kernel.read_text()
    # "(h - h.mean(...)" and the line break or spaces after it (the formatter decides which)
    planted = re.sub(r"\(h - h\.mean\(axis=-1, keepdims=True\)\s*", "(h ", source, count=1)
    assert planted != source, "the line to plant the bug in has moved"
    kernel.write_text(planted)
    result = _pytest(project, "--hypothesis-profile=ci", "-k", "vjp_of_the_forward")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    for part in ("claim layernorm.backward", "values differ", "largest difference",
                 "actual", "expected", "Draw 1 (n)", "inputs x (", "dtype float64"):
        assert part in out, f"{part!r} missing from:\n{out}"
    # the status column's width is the summary's to choose
    assert re.search(r"^failed +layernorm\.backward ", out, re.M), out
    # the failure points at the user's line, not into the checker
    assert re.search(r"^>\s+check_backward\(", out, re.M), out
    assert "tests/test_layernorm.py:" in out, out
    assert "dlmath_verify/backward.py:" not in out and "dlmath_verify/checks.py:" not in out, out


FOREIGN_CONFTEST = '''
from dlmath_verify.registry import claim

claim("mine.identity", source="here", statement="x = x", witnesses=("implementation",))
'''

FOREIGN_TEST = '''
import pytest
import torch
from hypothesis import settings


@pytest.mark.claim("mine.identity", kind="implementation")
def test_profiles_come_from_the_plugin():
    # `thorough` exists only in the plugin (Hypothesis itself has a `ci` profile of its own)
    assert settings._current_profile == "thorough" and settings.default.max_examples == 400
    assert settings.default.deadline is None
    ci = settings.get_profile("ci")
    assert ci.max_examples == 40 and ci.derandomize and ci.deadline is None
    assert settings.get_profile("dev").max_examples == 25


@pytest.mark.conventions
def test_the_plugin_leaves_torch_defaults_alone():
    assert torch.get_default_dtype() == torch.float32


def test_benchmarks_are_not_disabled_by_the_plugin(request):
    opt = request.config.option
    assert not getattr(opt, "benchmark_disable", False)
'''


@pytest.mark.nightly
def test_plugin_in_a_foreign_project_gives_profiles_markers_and_leaves_its_defaults(tmp_path):
    """No root conftest of ours, --strict-markers: the plugin alone brings the profiles and the
    claim/conventions markers; it sets neither torch's default dtype nor pytest-benchmark's
    options, and needs no `derivations` package."""
    (tmp_path / "conftest.py").write_text(FOREIGN_CONFTEST)
    (tmp_path / "test_foreign.py").write_text(FOREIGN_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    result = _pytest(tmp_path, "--hypothesis-profile=thorough", "-q")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "3 passed" in out and "verified" in out and "mine.identity" in out, out
    assert "derivations" not in out


@pytest.mark.slow
def test_the_wheel_installs_only_the_namespaced_package(tmp_path):
    """Builds the wheel (no isolation: setuptools from this environment) and lists its
    top-level names: dlmath_verify and the metadata, never impl, derivations or tests."""
    # A copy of the repository, so that setuptools' in-tree build/ directory (which keeps
    # files deleted since the last build) never reaches the wheel, and the tree stays clean.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis", ".*_cache"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300,
        cwd=tmp_path)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = tmp_path.glob("dlmath_verify-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        metadata = z.read(next(n for n in names if n.endswith("METADATA"))).decode()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"dlmath_verify"}, sorted(top)
    assert "dlmath_verify/backward.py" in names and "dlmath_verify/plugin.py" in names
    assert "[pytest11]" in entry_points and "dlmath_verify.plugin" in entry_points
    torch_requirement = [ln for ln in metadata.splitlines()
                         if ln.startswith("Requires-Dist: torch")]
    assert torch_requirement and "==" not in torch_requirement[0], torch_requirement
