"""A small AST mutation tester for ``impl/``: plant one mutant at a time in a module, run the
tests that reach the mutated function, and report the score and the survivors.

    python tools/mutate.py softmax            # impl/softmax.py against its topic's tests
    python tools/mutate.py conv --max 50      # the first 50 mutants only
    python tools/mutate.py softmax --list     # the mutants, without running anything
    python tools/mutate.py --all              # every public module, one after the other
    python tools/mutate.py softmax --survivors  # re-run only the last run's survivors
    python tools/mutate.py --table            # the table of docs/mutation.md from the results

Mutants (one node each, never inside a docstring, an f-string, a ``raise`` statement's
message, a type annotation, or on a line marked ``# pragma: no mutate``, mutmut's marker,
here for presentation only: a figure's size or a font): arithmetic operator swaps (+ −,
× ÷, ** → ×, @ → ×, // → /), dropped terms (a ± b → a), a removed unary minus, comparison
flips (< ≤, > ≥, == !=, in / not in), ``and``/``or`` swaps, numeric constants changed (an
int n → n + 1, a float c → 2c, 0.0 → 1.0), ``.T`` removed, and ``.T`` inserted on the left
operand of ``@``.

How it runs, in one process so that torch, sympy and the suite are imported once:

1. the topic's tests run once under a profiler that records, for every test, which functions
   of the module it calls (tests that fail unmutated are left out);
2. for each mutant the module's source is rewritten and executed, and every existing function
   of the module gets the mutated code object in place (so closures, dicts built at import
   time and classes held elsewhere all run the mutant; constants are rebound in the module and
   where other ``impl``/``tests`` modules imported them); then ``pytest -x`` runs only the
   tests that called the mutated function (all of the topic's tests for module-level code),
   under the Hypothesis profile ``mutation`` (20 derandomised examples, no deadline, no
   database, no shrinking); a mutant is killed when a test fails or errors, or when it runs
   longer than ``--timeout`` seconds;
   code that runs only while the module is imported (a class body such as a dataclass
   field's default, ``__init_subclass__``, a decorator) is out of reach of in-place recoding:
   its mutants run every topic test in a new process that imports the mutated source;
3. the module is restored, and the next mutant planted.

It writes ``<out>/<module>.json`` (every mutant, its status and the tests run) and prints the
score and the survivors. A survivor listed in ``docs/mutation/equivalent.json`` (with the
argument that no input tells it from the original) is reported as equivalent; the score is
given with and without them. Not part of CI: a module takes minutes (docs/mutation.md).
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import json
import signal
import sys
import time
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module -> its topic's tests (beyond tests/test_<module>.py when that exists), and the
# error-input layer and the examples filtered to the module
TOPIC_TESTS: dict[str, list[str]] = {
    "autodiff": ["tests/test_ops.py"],
    "custom_batchnorm": ["tests/test_batchnorm.py"],
    "modules": ["tests/test_modules.py", "tests/test_softmax.py"],
    "mlp": ["tests/test_mlp.py", "tests/test_modules.py"],
    # the counter against its formulas, against fvcore/ptflops/thop, and the attention blocks
    "flops": ["tests/test_flops.py", "tests/test_flops_compare.py",
              "tests/test_flops_attention.py"],
    # every test of test_experiments.py is nightly: the unit tests of its building blocks
    "experiments": ["tests/test_experiments.py", "tests/test_experiment_units.py"],
    "_validate": [],  # its tests are the error-input layer and the contracts, whole
}


@dataclass
class Mutant:
    index: int
    line: int
    col: int
    kind: str
    function: str  # the enclosing function ("<module>" at module level)
    source_line: str
    status: str = "pending"  # killed / survived / timeout / no-tests / error
    tests: list[str] = field(default_factory=list)
    seconds: float = 0.0
    killed_by: str = ""  # the first test that failed
    survived_before: bool = False  # survived an earlier run of this module (kept across runs)


# ------------------------------------------------------------------ finding mutation sites

_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
                ast.Pow: ast.Mult, ast.MatMult: ast.Mult, ast.FloorDiv: ast.Div}
_CMP_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
              ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In}


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _skipped(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside a docstring, an f-string, a raise statement or an annotation: not mutated."""
    child, p = node, parents.get(node)
    while p is not None:
        if isinstance(p, ast.JoinedStr | ast.Raise):
            return True
        if isinstance(p, ast.arg) and child is p.annotation:
            return True
        if isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef) and child is p.returns:
            return True
        if isinstance(p, ast.AnnAssign) and child is p.annotation:
            return True
        if isinstance(p, ast.Expr) and isinstance(p.value, ast.Constant):  # docstrings
            return True
        child, p = p, parents.get(p)
    return False


def _sites(tree: ast.AST) -> list[tuple[int, str]]:
    """(index of the node in ast.walk order, mutation kind) for every mutation site."""
    parents = _parents(tree)
    out: list[tuple[int, str]] = []
    for k, node in enumerate(ast.walk(tree)):
        if _skipped(node, parents):
            continue
        if isinstance(node, ast.BinOp):
            if type(node.op) in _BINOP_SWAPS:
                out.append((k, f"{type(node.op).__name__} → "
                               f"{_BINOP_SWAPS[type(node.op)].__name__}"))
            if isinstance(node.op, ast.Add | ast.Sub):
                out.append((k, "drop the right term"))
            if isinstance(node.op, ast.MatMult):
                out.append((k, "insert .T on the left operand"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            out.append((k, "remove unary minus"))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(
                node.ops[0]) in _CMP_SWAPS:
            out.append((k, f"{type(node.ops[0]).__name__} → "
                           f"{_CMP_SWAPS[type(node.ops[0])].__name__}"))
        elif isinstance(node, ast.BoolOp):
            out.append((k, "and ↔ or"))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, int | float)
              and not isinstance(node.value, bool)):
            out.append((k, f"constant {node.value!r} changed"))
        elif isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(
                node.ctx, ast.Load):
            out.append((k, "remove .T"))
    return out


def _replace(parents: dict[ast.AST, ast.AST], old: ast.AST, new: ast.AST) -> None:
    parent = parents[old]
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            return
        if isinstance(value, list):
            for i, v in enumerate(value):
                if v is old:
                    value[i] = new
                    return
    raise RuntimeError("node not found in its parent")


def _apply(tree: ast.AST, index: int, kind: str) -> ast.AST:
    tree = copy.deepcopy(tree)
    node = list(ast.walk(tree))[index]
    parents = _parents(tree)
    if kind == "drop the right term":
        _replace(parents, node, node.left)
    elif kind == "insert .T on the left operand":
        node.left = ast.Attribute(value=node.left, attr="T", ctx=ast.Load())
    elif kind == "remove unary minus":
        _replace(parents, node, node.operand)
    elif kind == "remove .T":
        _replace(parents, node, node.value)
    elif kind == "and ↔ or":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind.startswith("constant"):
        v = node.value
        node.value = v + 1 if isinstance(v, int) else (v * 2 if v != 0 else 1.0)
    elif isinstance(node, ast.BinOp):
        node.op = _BINOP_SWAPS[type(node.op)]()
    elif isinstance(node, ast.Compare):
        node.ops = [_CMP_SWAPS[type(node.ops[0])]()]
    return ast.fix_missing_locations(tree)


_TREE_CACHE: dict[int, tuple[list[ast.AST], dict[ast.AST, ast.AST]]] = {}


def _nodes_and_parents(tree: ast.AST) -> tuple[list[ast.AST], dict[ast.AST, ast.AST]]:
    """ast.walk's list and the parent map of an unmutated tree, computed once per tree."""
    if id(tree) not in _TREE_CACHE:
        _TREE_CACHE[id(tree)] = (list(ast.walk(tree)), _parents(tree))
    return _TREE_CACHE[id(tree)]


def _enclosing(tree: ast.AST, index: int) -> tuple[str, int, int]:
    """(name, first line, last line) of the nearest enclosing def or lambda."""
    nodes, parents = _nodes_and_parents(tree)
    node = nodes[index]
    p = parents.get(node)
    while p is not None:
        if isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            first = min([p.lineno] + [d.lineno for d in getattr(p, "decorator_list", [])])
            return (p.name if not isinstance(p, ast.Lambda) else "<lambda>", first,
                    p.end_lineno or p.lineno)
        p = parents.get(p)
    return "<module>", 0, 10**9


def _in_class_body(tree: ast.AST, index: int) -> bool:
    """In a class body outside any def (a dataclass field default, a class attribute): code
    that ran once, when the class was made, so in-place recoding never reaches it."""
    nodes, parents = _nodes_and_parents(tree)
    p = parents.get(nodes[index])
    while p is not None:
        if isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return False
        if isinstance(p, ast.ClassDef):
            return True
        p = parents.get(p)
    return False


# mutmut's marker: a line that only sets how something looks (a figure's size, dpi, font
# sizes, line widths), which no claim or test reads; docs/mutation.md says where it is used
NO_MUTATE = "# pragma: no mutate"


def mutants(path: Path) -> tuple[ast.AST, list[Mutant]]:
    src = path.read_text()
    tree = ast.parse(src)
    lines = src.splitlines()
    nodes = list(ast.walk(tree))
    out = []
    for i, (k, kind) in enumerate(_sites(tree)):
        node = nodes[k]
        if NO_MUTATE in lines[node.lineno - 1]:
            continue  # presentation only (a figure's size, a font): no claim reads it
        name, _, _ = _enclosing(tree, k)
        out.append(Mutant(i, node.lineno, node.col_offset, kind, name,
                          lines[node.lineno - 1].strip()))
    return tree, out


# ------------------------------------------------------------------ running the tests


class _CallMap:
    """A pytest plugin: which functions of the target file each test calls."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.calls: dict[str, set[tuple[str, int]]] = {}
        self.failed: set[str] = set()
        self._current: set[tuple[str, int]] | None = None

    def _profile(self, frame, event, arg):
        if event == "call" and frame.f_code.co_filename == self.filename:
            self._current.add((frame.f_code.co_name, frame.f_code.co_firstlineno))

    def pytest_runtest_setup(self, item):
        self._current = self.calls.setdefault(item.nodeid, set())
        sys.setprofile(self._profile)

    def pytest_runtest_teardown(self, item):
        sys.setprofile(None)

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed.add(report.nodeid)


class _FirstFailure:
    """A pytest plugin: the node id of the first test that failed."""

    def __init__(self) -> None:
        self.nodeid = ""

    def pytest_runtest_logreport(self, report):
        if report.failed and not self.nodeid:
            self.nodeid = report.nodeid


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def _functions(namespace: dict, filename: str) -> dict[tuple[str, int], types.FunctionType]:
    """Every function of the target file reachable from a module namespace: module-level
    functions, methods of its classes (static/class methods and properties unwrapped),
    functions a decorator wrapped (``__wrapped__``) and functions held in module-level dicts,
    lists and tuples; keyed by (qualified name, first line)."""
    found: dict[tuple[str, int], types.FunctionType] = {}

    def visit(obj: object, depth: int) -> None:
        if isinstance(obj, staticmethod | classmethod):
            obj = obj.__func__
        if isinstance(obj, property):
            for f in (obj.fget, obj.fset, obj.fdel):
                visit(f, depth)
            return
        if isinstance(obj, types.FunctionType):
            if obj.__code__.co_filename == filename:
                found[(obj.__qualname__, obj.__code__.co_firstlineno)] = obj
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is not None and depth < 3:
                visit(wrapped, depth + 1)
            for cell in obj.__closure__ or ():
                try:
                    inner = cell.cell_contents
                except ValueError:
                    continue
                if isinstance(inner, types.FunctionType) and depth < 3:
                    visit(inner, depth + 1)
            return
        if isinstance(obj, type) and depth < 2:
            for v in vars(obj).values():
                visit(v, depth + 1)
            return
        if isinstance(obj, dict) and depth < 2:
            for v in obj.values():
                visit(v, depth + 1)
        elif isinstance(obj, list | tuple) and depth < 2:
            for v in obj:
                visit(v, depth + 1)

    for value in list(namespace.values()):
        visit(value, 0)
    return found


def _swap_in(module: types.ModuleType, code: types.CodeType) -> dict:
    """Run the mutated code, then give every existing function of the module the mutated
    code object (in place, so that every reference — closures, dicts built at import time,
    methods of classes other modules hold — runs the mutant); other names (constants) are
    rebound in the module and in the impl/tests modules that imported them."""
    old = dict(module.__dict__)
    fresh: dict = {"__name__": module.__name__, "__file__": module.__file__,
                   "__package__": module.__package__, "__builtins__": module.__builtins__}
    exec(code, fresh)  # the point of the tool
    filename = module.__file__
    old_fns, new_fns = _functions(old, filename), _functions(fresh, filename)
    recoded = []
    for key, f in old_fns.items():
        g = new_fns.get(key)
        if g is None or g.__code__ is f.__code__:
            continue
        saved = (f, f.__code__, f.__defaults__, f.__kwdefaults__)
        try:
            f.__code__ = g.__code__
        except ValueError:  # a different closure: fall back to rebinding below
            continue
        f.__defaults__, f.__kwdefaults__ = g.__defaults__, g.__kwdefaults__
        recoded.append(saved)
    rebound = {k: v for k, v in fresh.items() if not k.startswith("__") and not (
        isinstance(old.get(k), types.FunctionType | type))}
    module.__dict__.update(rebound)
    old_to_new = {id(old[k]): v for k, v in rebound.items() if k in old and old[k] is not v}
    patched = []
    for name, mod in list(sys.modules.items()):
        if mod is module or not name.startswith(("impl.", "tests.")):
            continue
        for attr, value in list(vars(mod).items()):
            new = old_to_new.get(id(value))
            if new is not None and any(value is v for v in old.values()):
                patched.append((mod, attr, value))
                setattr(mod, attr, new)
    return {"old": old, "patched": patched, "recoded": recoded}


def _restore(module: types.ModuleType, state: dict) -> None:
    for f, code, defaults, kwdefaults in state["recoded"]:
        f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults
    module.__dict__.clear()
    module.__dict__.update(state["old"])
    for mod, attr, value in state["patched"]:
        setattr(mod, attr, value)


EQUIVALENT = ROOT / "docs" / "mutation" / "equivalent.json"


def _equivalents(module: str) -> list[dict]:
    """The mutants of ``module`` argued equivalent in docs/mutation.md: each entry names the
    function, the mutation, the source line (stripped) and the column, so it survives edits
    that only move lines; ``why`` is the argument."""
    if not EQUIVALENT.exists():
        return []
    return json.loads(EQUIVALENT.read_text()).get(module, [])


def _is_listed(m: Mutant, entry: dict) -> bool:
    return (m.function, m.kind, m.source_line, m.col) == (
        entry["function"], entry["kind"], entry["source_line"], entry["col"])


def table(out: Path) -> str:
    """The Markdown table of docs/mutation.md from the JSON results in ``out``, with each
    module's corruption count from the error-input layer."""
    from collections import Counter

    sys.path.insert(0, str(ROOT))
    from tests.error_inputs import corruptions
    from tests.error_inputs.table import ENTRIES

    corr: dict = {}  # module → corruptions its entries try ("—": not in the layer)
    for e in ENTRIES:
        mod = e.name.split(".")[0]
        corr[mod] = corr.get(mod, 0) + (0 if e.record else len(corruptions(e)))
    lines = ["| module | corruptions | mutants | killed | survived | equivalent | score | "
             "score without equivalents | seconds |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    tot = Counter()
    for name in public_modules():
        f = out / f"{name}.json"
        if not f.exists() or json.loads(f.read_text()).get("stale"):
            lines.append(f"| {name} | {corr.get(name, '—')} | not measured | | | | | | |")
            continue
        r = json.loads(f.read_text())
        listed = _equivalents(name)  # the current list, so an added argument needs no re-run
        eq = sum(m["status"] in ("survived", "equivalent") and any(
            _is_listed(Mutant(**m), e) for e in listed) for m in r["results"])
        left = r["mutants"] - r["killed"] - eq
        adj = r["killed"] / (r["mutants"] - eq) if r["mutants"] > eq else 1.0
        part = f" (first {r['mutants']} of {r['of']})" if r.get("of", r["mutants"]) != \
            r["mutants"] else ""
        lines.append(f"| {name}{part} | {corr.get(name, '—')} | {r['mutants']} | {r['killed']} "
                     f"| {left} | {eq} | {100 * r['score']:.1f}% | {100 * adj:.1f}% | "
                     f"{r['seconds']} |")
        tot.update({"m": r["mutants"], "k": r["killed"], "e": eq,
                    "s": r["seconds"]})
    if tot["m"]:
        lines.append(f"| **total** | {sum(corr.values())} | {tot['m']} | {tot['k']} | "
                     f"{tot['m'] - tot['k'] - tot['e']} | {tot['e']} | "
                     f"{100 * tot['k'] / tot['m']:.1f}% | "
                     f"{100 * tot['k'] / (tot['m'] - tot['e']):.1f}% | {tot['s']} |")
    return "\n".join(lines)


def survivors(out: Path) -> str:
    """Per module, every mutant that survived a full run: killed since (by which test), argued
    equivalent (why), or still alive; Markdown for docs/mutation.md."""
    parts = []
    for name in public_modules():
        f = out / f"{name}.json"
        if not f.exists() or json.loads(f.read_text()).get("stale"):
            continue
        listed = _equivalents(name)
        rows = []
        for r in sorted(json.loads(f.read_text())["results"],
                        key=lambda r: (r["line"], r["col"], r["index"])):
            m = Mutant(**r)
            entry = next((e for e in listed if _is_listed(m, e)), None)
            if not (m.survived_before or m.status in ("survived", "no-tests", "equivalent")
                    or entry):
                continue
            where = f"line {m.line}:{m.col} `{m.function}`: {m.kind} in `{m.source_line}`"
            if entry is not None and m.status in ("survived", "equivalent"):
                rows.append(f"- {where}: **equivalent**: {entry['why']}")
            elif m.status in ("killed", "timeout"):
                rows.append(f"- {where}: killed by `{m.killed_by.split('::')[-1]}`"
                            if m.killed_by else f"- {where}: killed (test not recorded)")
            else:
                rows.append(f"- {where}: **{m.status}**")
        if rows:
            parts.append(f"### {name}\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def public_modules() -> list[str]:
    """The modules of ``impl/`` with an ``__all__`` (the error-input layer's modules), and
    ``_validate`` (the checks they share)."""
    public = sorted(p.stem for p in (ROOT / "impl").glob("*.py")
                    if not p.stem.startswith("_") and "__all__" in p.read_text())
    return [*public, "_validate"]


def run_all(args: argparse.Namespace) -> int:
    """Each public module in its own process (a fresh import each), then a summary table."""
    import subprocess

    rows = []
    for name in public_modules():
        cmd = [sys.executable, str(Path(__file__).resolve()), name, "--out", str(args.out),
               "--timeout", str(args.timeout)]
        if args.max is not None:
            cmd += ["--max", str(args.max)]
        print(f"=== {name}", flush=True)
        code = subprocess.call(cmd, cwd=ROOT)
        out = args.out / f"{name}.json"
        if code != 0 or not out.exists():
            rows.append((name, "-", "-", "-", "-", "failed", "-", "-"))
            continue
        r = json.loads(out.read_text())
        rows.append((name, r["mutants"], r["killed"], r["equivalent"],
                     r["mutants"] - r["killed"] - r["equivalent"], f"{100 * r['score']:.1f}%",
                     f"{100 * r['score_without_equivalents']:.1f}%", r["seconds"]))
    print(f"\n{'module':18s} {'mutants':>7s} {'killed':>6s} {'equiv':>5s} {'left':>5s} "
          f"{'score':>7s} {'adjusted':>8s} {'s':>5s}")
    for row in rows:
        print(f"{row[0]:18s} {row[1]!s:>7s} {row[2]!s:>6s} {row[3]!s:>5s} {row[4]!s:>5s} "
              f"{row[5]!s:>7s} {row[6]!s:>8s} {row[7]!s:>5s}")
    return 0 if all(row[5] != "failed" for row in rows) else 1


_IMPORT_PROBE = """
import sys
sys.path.insert(0, {root!r})
seen = set()
def probe(frame, event, arg):
    if event == "call" and frame.f_code.co_filename == {path!r}:
        seen.add((frame.f_code.co_name, frame.f_code.co_firstlineno))
sys.setprofile(probe)
import impl.{module}
sys.setprofile(None)
print(repr(sorted(seen)))
"""

_FRESH_RUN = """
import sys, types
sys.path.insert(0, {root!r})
import impl
module = types.ModuleType("impl.{module}")
module.__file__, module.__package__ = {path!r}, "impl"
sys.modules["impl.{module}"] = module
impl.{module} = module
try:
    exec(compile(open({source!r}).read(), {path!r}, "exec"), module.__dict__)
except Exception as err:
    print("the mutant does not import:", err)
    sys.exit(3)
import pytest
from hypothesis import Phase, settings
settings.register_profile("mutation", max_examples=20, deadline=None, derandomize=True,
                          database=None, print_blob=False,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
class First:
    nodeid = ""
    def pytest_runtest_logreport(self, report):
        if report.failed and not self.nodeid:
            self.nodeid = report.nodeid
first = First()
code = pytest.main({args!r}, plugins=[first])
print("FIRST FAILURE:", first.nodeid)
sys.exit(code)
"""


def _dump(report: dict) -> str:
    """JSON with one line per mutant (the number of tests run, not their ids: small diffs)."""
    head = {k: v for k, v in report.items() if k != "results"}
    lines = [json.dumps(r, ensure_ascii=False) for r in report["results"]]
    return (json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "results": [\n  '
            + ",\n  ".join(lines) + "\n ]\n}\n")


def _import_time_functions(module: str, path: Path) -> set[tuple[str, int]]:
    """The functions of the file that run while the module is imported (class hooks such as
    ``__init_subclass__``, decorators, helpers called at module level), found in a fresh
    process: a mutant there never reaches the tests through in-place recoding."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE.format(
        root=str(ROOT), path=str(path), module=module)], capture_output=True, text=True,
        cwd=ROOT, check=True).stdout
    return set(ast.literal_eval(out.strip().splitlines()[-1]))


def _fresh_run(module: str, path: Path, mutated: ast.AST, args: list[str],
               timeout: float) -> tuple[str, str]:
    """Run the tests in a new process that imports the mutated source as the module: (status,
    the first test that failed)."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(ast.unparse(mutated))
    try:
        run = subprocess.run([sys.executable, "-c", _FRESH_RUN.format(
            root=str(ROOT), path=str(path), module=module, source=f.name, args=args)],
            cwd=ROOT, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    finally:
        Path(f.name).unlink()
    first = [ln.split(":", 1)[1].strip() for ln in run.stdout.splitlines()
             if ln.startswith("FIRST FAILURE:")]
    if run.returncode == 3:
        first = ["(the mutated module does not import)"]
    return ("killed" if run.returncode != 0 else "survived"), (first[0] if first else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/mutate.py", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("module", nargs="?", help="an impl module name: softmax, conv, ...")
    ap.add_argument("--all", action="store_true",
                    help="every module of impl/ with an __all__, one process each")
    ap.add_argument("--survivors", action="store_true",
                    help="re-run only the mutants <out>/<module>.json left alive (after tests "
                         "were added) and update that file; the others keep their status")
    ap.add_argument("--max", type=int, default=None, help="only the first N mutants")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    ap.add_argument("--list", action="store_true", help="list the mutants and stop")
    ap.add_argument("--table", action="store_true",
                    help="print the table and the survivors of docs/mutation.md from <out>/*.json")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "mutation",
                    help="directory for <module>.json")
    args = ap.parse_args(argv)
    if args.table:
        print(table(args.out) + "\n\n" + survivors(args.out))
        return 0
    if args.all:
        return run_all(args)
    if args.module is None:
        ap.error("name a module, or --all")

    sys.path.insert(0, str(ROOT))
    path = ROOT / "impl" / f"{args.module}.py"
    tree, found = mutants(path)
    total = len(found)
    if args.max is not None:
        found = found[: args.max]
    previous: dict[int, dict] = {}
    if args.survivors:
        prior = json.loads((args.out / f"{args.module}.json").read_text())
        previous = {r["index"]: r for r in prior["results"]}
        if [(r["line"], r["kind"]) for r in prior["results"]] != [
                (m.line, m.kind) for m in found]:
            ap.error(f"impl/{args.module}.py changed since that run: run it whole")
        for m in found:
            r = previous[m.index]
            if r["status"] in ("killed", "timeout"):
                m.status, m.tests, m.seconds = r["status"], r["tests"], r["seconds"]
                m.killed_by = r.get("killed_by", "")
    # the mutants that survived an earlier run stay marked, so docs/mutation.md can name the
    # test that kills each now (matched by function, mutation, source line and column)
    earlier = args.out / f"{args.module}.json"
    if earlier.exists():
        alive = {(r["function"], r["kind"], r["source_line"], r["col"])
                 for r in json.loads(earlier.read_text())["results"]
                 if r.get("survived_before") or r["status"] not in ("killed", "timeout")}
        for m in found:
            m.survived_before = (m.function, m.kind, m.source_line, m.col) in alive
    if args.list:
        for m in found:
            print(f"{m.index:4d} line {m.line:4d} {m.function:28s} {m.kind:28s} "
                  f"{m.source_line[:60]}")
        return 0

    import pytest
    from hypothesis import Phase, settings

    # no shrinking: a mutant is killed by the first failing example; minimising it only costs
    # time (up to half a minute a mutant)
    settings.register_profile("mutation", max_examples=20, deadline=None, derandomize=True,
                              database=None, print_blob=False,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
    module = importlib.import_module(f"impl.{args.module}")
    files = TOPIC_TESTS.get(args.module, [f"tests/test_{args.module}.py"])
    files = [f for f in files if (ROOT / f).exists()]
    base = ["-q", "-p", "no:cacheprovider", "-m", "not nightly", "--hypothesis-profile=mutation",
            "--no-header", "-o", "addopts=", "-W", "ignore"]
    calls = _CallMap(str(path))
    t0 = time.time()
    # the topic's files whole, the error-input layer's entries of this module, the issue's
    # examples (-k applies to every file: keep everything outside test_error_inputs)
    layer = ["tests/test_error_inputs.py", "tests/test_contracts.py",
             "-k", f"not test_error_inputs or {args.module}"]
    if args.module == "_validate":  # the shared checks: every entry of the layer is a test
        layer = ["tests/test_error_inputs.py", "tests/test_contracts.py"]
    pytest.main([*files, *layer, *base], plugins=[calls])
    print(f"baseline: {len(calls.calls)} tests in {time.time() - t0:.0f} s, "
          f"{len(calls.failed)} failing (left out)", flush=True)
    tests = {t: fns for t, fns in calls.calls.items() if t not in calls.failed}

    baseline_seconds = time.time() - t0
    at_import = _import_time_functions(args.module, path)

    signal.signal(signal.SIGALRM, _alarm)
    sites = _sites(tree)
    for m in found:
        if m.status != "pending":  # killed in the run --survivors continues
            continue
        k, kind = sites[m.index]
        _, first, last = _enclosing(tree, k)
        if m.function == "<module>":
            selected = sorted(tests)
        else:
            selected = sorted(t for t, fns in tests.items()
                              if any(n == m.function and first <= line <= last
                                     for n, line in fns))
        m.tests = selected
        if (not selected and any(n == m.function and first <= line <= last
                                 for n, line in at_import)) or _in_class_body(tree, k):
            # code that runs at import only (a class hook, a decorator, a class body): every
            # topic test, in a new process that imports the mutated module
            start = time.time()
            m.tests = ["(all topic tests, in a fresh process: the code runs at import)"]
            m.status, m.killed_by = _fresh_run(args.module, path, _apply(tree, k, kind),
                                  [*files, *layer, *base, "-x"],
                                  timeout=3 * baseline_seconds + 120)
            m.seconds = time.time() - start
            print(f"[{m.index}] line {m.line} {m.kind}: {m.status} (runs at import: fresh "
                  f"process, {m.seconds:.1f} s)", flush=True)
            continue
        if not selected:
            m.status = "no-tests"
            print(f"[{m.index}] line {m.line} {m.kind}: NO TESTS reach {m.function}", flush=True)
            continue
        mutated = _apply(tree, k, kind)
        start = time.time()
        try:
            code = compile(mutated, str(path), "exec")
            state = _swap_in(module, code)
        # a mutant that does not even load is killed; SystemExit too (a mutated
        # `if __name__ == "__main__"` runs the CLI, which exits, at import)
        except (Exception, SystemExit) as err:
            m.status, m.seconds = "killed", time.time() - start
            print(f"[{m.index}] line {m.line} {m.kind}: killed at import ({err})", flush=True)
            continue
        try:
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
            first = _FirstFailure()
            code = pytest.main([*selected, *base, "-x"], plugins=[first])
            m.status = "killed" if code != 0 else "survived"
            m.killed_by = first.nodeid
        except _Timeout:
            m.status = "timeout"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _restore(module, state)
        m.seconds = time.time() - start
        print(f"[{m.index}] line {m.line} {m.kind}: {m.status} ({len(selected)} tests, "
              f"{m.seconds:.1f} s)", flush=True)

    listed = _equivalents(args.module)
    for m in found:
        entry = next((e for e in listed if _is_listed(m, e)), None)
        if entry is None:
            continue
        if m.status == "survived":
            m.status = "equivalent"
        else:
            print(f"  listed as equivalent but {m.status}: [{m.index}] line {m.line} "
                  f"{m.function}: {m.kind} (docs/mutation/equivalent.json is stale)")
    for entry in listed:
        if not any(_is_listed(m, entry) for m in found) and args.max is None:
            print(f"  listed as equivalent but no such mutant: {entry['function']}: "
                  f"{entry['kind']}: {entry['source_line']} (docs/mutation/equivalent.json)")
    killed = sum(m.status in ("killed", "timeout") for m in found)
    equivalent = sum(m.status == "equivalent" for m in found)
    score = killed / len(found) if found else 1.0
    adjusted = killed / (len(found) - equivalent) if len(found) > equivalent else 1.0
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"module": args.module, "mutants": len(found), "of": total, "killed": killed,
              "equivalent": equivalent,
              "no_tests": sum(m.status == "no-tests" for m in found),
              "score": round(score, 4), "score_without_equivalents": round(adjusted, 4),
              "seconds": prior["seconds"] if previous else round(time.time() - t0),
              "survivors_rerun_seconds": round(time.time() - t0) if previous else None,
              "results": [{**asdict(m), "seconds": round(m.seconds, 1),
                           "tests": len(m.tests) if isinstance(m.tests, list)
                           else m.tests} for m in found]}
    (args.out / f"{args.module}.json").write_text(_dump(report))
    print(f"\n{args.module}: {killed}/{len(found)} killed ({100 * score:.1f}%), {equivalent} "
          f"equivalent ({100 * adjusted:.1f}% without them), {time.time() - t0:.0f} s")
    for m in found:
        if m.status in ("survived", "no-tests"):
            print(f"  {m.status:9s} line {m.line:4d} {m.function}: {m.kind}: {m.source_line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
