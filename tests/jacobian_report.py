"""Report of the Jacobian benchmark: a Markdown table and a PNG from pytest-benchmark's JSON.

    pytest tests/test_jacobian_benchmark.py --benchmark-only --benchmark-json=bench.json
    python -m tests.jacobian_report bench.json [--out docs/figures]

writes ``jacobian_benchmark.md`` (every cell and kernel: minimum and median time, the cost
model's multiply-adds, the rate they imply, time relative to our faster mode) and
``jacobian_benchmark.png`` (time against L for D = K = 1000, P = 1, and against D for the
sweep at K = 512, P = 128, L = 4; both modes, with the cost model drawn as lines: the model's
multiply-adds at the rate of the K×K by K×D reference matmul measured in the same run).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from derivations import jacobian as dj


def load(path: str) -> tuple[dict, list[dict]]:
    data = json.loads(Path(path).read_text())
    rows = []
    for b in data["benchmarks"]:
        info = b["extra_info"]
        rows.append(dict(info, min=b["stats"]["min"], median=b["stats"]["median"],
                         rounds=b["stats"]["rounds"]))
    return data.get("machine_info", {}), rows


def table(rows: list[dict], machine: dict) -> str:
    by_cell = defaultdict(list)
    for r in rows:
        by_cell[r["cell"]].append(r)
    out = ["# Jacobian benchmark", "",
           f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
           f"{machine.get('cpu', {}).get('count', '?')} cores; float32; threads and weight "
           "scaling as in `tests/jacobian_bench.py`. Times are the minimum over rounds "
           "(median beside it); *model* is the cost model's multiply-adds "
           "(`derivations/jacobian.py`); *GMAC/s* = model ÷ min time; *× ours* = time ÷ "
           "the faster of our two modes.", ""]
    for cell, rs in by_cell.items():
        r0 = rs[0]
        ours = min(r["min"] for r in rs if r["kernel"] in ("ours reverse", "ours forward"))
        pred = (dj.cost(dj.FORWARD, r0["D"], r0["K"], r0["P"], r0["L"])
                / dj.cost(dj.REVERSE, r0["D"], r0["K"], r0["P"], r0["L"]))
        t = {r["kernel"]: r["min"] for r in rs}
        meas = t["ours forward"] / t["ours reverse"]
        out += [f"## {cell}: D = {r0['D']}, K = {r0['K']}, P = {r0['P']}, L = {r0['L']}", "",
                f"forward/reverse: measured {meas:.3g}, model {pred:.3g}", "",
                "| kernel | min (ms) | median (ms) | model multiply-adds | GMAC/s | × ours |",
                "|---|---:|---:|---:|---:|---:|"]
        for r in sorted(rs, key=lambda r: r["min"]):
            out.append(f"| {r['kernel']} | {r['min'] * 1e3:.3f} | {r['median'] * 1e3:.3f} | "
                       f"{r['model_macs']:,} | {r['model_macs'] / r['min'] / 1e9:.2f} | "
                       f"{r['min'] / ours:.2f} |")
        out.append("")
    return "\n".join(out)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"ours reverse": ("C0", "o"), "ours forward": ("C1", "s"),
              "seed my_backward_2a": ("C2", "v"), "seed my_forward_2b": ("C3", "^"),
              "torch.func.jacrev": ("C4", "x"), "torch.func.jacfwd": ("C5", "+"),
              "evaluate f": ("C7", ".")}
    panels = [
        (axes[0], lambda r: r["cell"].startswith("seed-big"), "L",
         "D = K = 1000, P = 1: time against depth L"),
        (axes[1], lambda r: r["cell"].startswith("sweep"), "D",
         "K = 512, P = 128, L = 4: time against D (model crossover at D = P)"),
    ]
    for ax, pick, var, title in panels:
        rs = [r for r in rows if pick(r)]
        if not rs:
            continue
        mm = [r for r in rs if r["kernel"].startswith("matmul")]
        rate = max(r["model_macs"] / r["min"] for r in mm)  # best reference rate, MAC/s
        for kernel, (color, marker) in styles.items():
            pts = sorted((r[var], r["min"]) for r in rs if r["kernel"] == kernel)
            if pts:
                ax.plot(*zip(*pts, strict=True), marker=marker, color=color, ls=":",
                        label=f"{kernel} (measured)")
        for kernel, formula in (("ours reverse", dj.REVERSE), ("ours forward", dj.FORWARD)):
            cells = sorted({(r[var], r["D"], r["K"], r["P"], r["L"]) for r in rs})
            xs = [c[0] for c in cells]
            ys = [dj.cost(formula, *c[1:]) / rate for c in cells]
            ax.plot(xs, ys, color=styles[kernel][0], ls="-", alpha=0.6,
                    label=f"model {kernel.split()[1]}: MACs ÷ matmul rate")
        ax.set_xscale("log" if var == "D" else "linear")
        ax.set_yscale("log")
        ax.set_xlabel(var)
        ax.set_ylabel("time per Jacobian (s)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="pytest-benchmark JSON (--benchmark-json=...)")
    ap.add_argument("--out", default="docs/figures", help="output directory")
    args = ap.parse_args(argv)
    machine, rows = load(args.json)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "jacobian_benchmark.md").write_text(table(rows, machine) + "\n")
    plot(rows, out / "jacobian_benchmark.png")
    print(f"wrote {out / 'jacobian_benchmark.md'} and {out / 'jacobian_benchmark.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
