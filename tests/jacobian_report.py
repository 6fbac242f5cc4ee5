"""Report of the Jacobian benchmark: a Markdown table and PNGs from pytest-benchmark's JSON.

    pytest tests/test_jacobian_benchmark.py --benchmark-only --benchmark-json=reports/bench.json
    python -m tests.jacobian_report reports/bench.json    # writes to reports/ (git-ignored)
    python -m tests.jacobian_report reports/bench.json --out docs/figures   # only when asked to

writes ``jacobian_benchmark.md`` (every cell and kernel, mixed-width cells included: minimum
and median time, the multiply-adds counted in an instrumented run, the rate they imply, time
relative to our fastest mode, the time model's prediction and measured ÷ predicted),
``jacobian_benchmark.png`` (time against L for D = K = 1000, P = 1, and against D for the
sweep at K = 512, P = 128, L = 4; measured points with the time model's predictions as lines)
and ``jacobian_model.png`` (predicted against measured time for every cell and kernel, with
the 1.5× band).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from impl.jacobian import accumulation_plan

OURS = ("ours reverse", "ours forward", "ours optimal")


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
           "(median beside it); *MACs* are the multiply-adds of the kernel's products, "
           "counted in an instrumented run; *GMAC/s* = MACs ÷ min time; *× ours* = time ÷ "
           "our fastest mode; *predicted* is the time model calibrated at the start of the "
           "same run (`tests/jacobian_bench.py`), and *meas ÷ pred* its error.", ""]
    for cell, rs in by_cell.items():
        r0 = rs[0]
        w = tuple(r0["widths"])
        ours = min(r["min"] for r in rs if r["kernel"] in OURS)
        t = {r["kernel"]: r["min"] for r in rs}
        m = {r["kernel"]: r["macs"] for r in rs}
        plan = accumulation_plan(w)
        out += [f"## {cell}: widths (D, K1 … KL, P) = {'-'.join(map(str, w))}", "",
                f"forward/reverse: measured {t['ours forward'] / t['ours reverse']:.3g}, "
                f"multiply-add model {m['ours forward'] / m['ours reverse']:.3g}; optimal "
                f"order {plan} ({plan.mode}), best pure mode ÷ optimal: measured "
                f"{min(t['ours forward'], t['ours reverse']) / t['ours optimal']:.3g}, "
                f"model {min(m['ours forward'], m['ours reverse']) / m['ours optimal']:.3g}",
                "",
                "| kernel | min (ms) | median (ms) | MACs | GMAC/s | × ours | predicted (ms) "
                "| meas ÷ pred |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sorted(rs, key=lambda r: r["min"]):
            pred = r.get("predicted_s")
            ps = (f"{pred * 1e3:.3f} | {r['min'] / pred:.2f}" if pred else "– | –")
            out.append(f"| {r['kernel']} | {r['min'] * 1e3:.3f} | {r['median'] * 1e3:.3f} | "
                       f"{r['macs']:,} | {r['macs'] / r['min'] / 1e9:.2f} | "
                       f"{r['min'] / ours:.2f} | {ps} |")
        out.append("")
    return "\n".join(out)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"ours reverse": ("C0", "o"), "ours forward": ("C1", "s"),
              "ours optimal": ("C6", "*"),
              "dense-diag reverse": ("C2", "v"), "dense-diag forward": ("C3", "^"),
              "torch.func.jacrev": ("C4", "x"), "torch.func.jacfwd": ("C5", "+"),
              "evaluate f": ("C7", ".")}
    panels = [
        (axes[0], lambda r: r["cell"].startswith("seed-big"), "L",
         "D = K = 1000, P = 1: time against depth L"),
        (axes[1], lambda r: r["cell"].startswith("sweep"), "D",
         "K = 512, P = 128, L = 4: time against D (crossover at D = P)"),
    ]
    for ax, pick, var, title in panels:
        rs = [r for r in rows if pick(r)]
        if not rs:
            continue
        for kernel, (color, marker) in styles.items():
            pts = sorted((r[var], r["min"], r.get("predicted_s")) for r in rs
                         if r["kernel"] == kernel)
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color,
                    ls="", label=f"{kernel} (measured)")
            if all(p[2] for p in pts):
                ax.plot([p[0] for p in pts], [p[2] for p in pts], color=color, ls="-",
                        alpha=0.5, label=f"{kernel} (time model)")
        ax.set_xscale("log" if var == "D" else "linear")
        ax.set_yscale("log")
        ax.set_xlabel(var)
        ax.set_ylabel("time per Jacobian (s)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_model(rows: list[dict], path: Path) -> None:
    """Predicted against measured time, every cell and kernel, with the 1.5× band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = [r for r in rows if r.get("predicted_s")]
    fig, ax = plt.subplots(figsize=(7, 6))
    cells = sorted({r["cell"] for r in rs})
    markers = "osv^<>PXD*hp"
    for i, cell in enumerate(cells):
        pts = [(r["predicted_s"], r["min"]) for r in rs if r["cell"] == cell]
        ax.scatter(*zip(*pts, strict=True), marker=markers[i % len(markers)], s=22,
                   label=cell)
    if rs:
        lo = min(min(r["predicted_s"], r["min"]) for r in rs) / 2
        hi = max(max(r["predicted_s"], r["min"]) for r in rs) * 2
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="measured = predicted")
        for f in (1.5, 1 / 1.5):
            ax.plot([lo, hi], [lo * f, hi * f], "k:", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted time (s): roofline model calibrated in the same run")
    ax.set_ylabel("measured time (s, minimum over rounds)")
    ax.set_title("Jacobian kernels: measured against predicted (dotted: 1.5×)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="pytest-benchmark JSON (--benchmark-json=...)")
    ap.add_argument("--out", default="reports",
                    help="output directory (default reports/, ignored by git; pass "
                         "docs/figures only to regenerate the committed figures)")
    args = ap.parse_args(argv)
    machine, rows = load(args.json)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "jacobian_benchmark.md").write_text(table(rows, machine) + "\n")
    plot(rows, out / "jacobian_benchmark.png")
    plot_model(rows, out / "jacobian_model.png")
    print(f"wrote {out / 'jacobian_benchmark.md'}, {out / 'jacobian_benchmark.png'} and "
          f"{out / 'jacobian_model.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
