"""``python -m tests.error_inputs``: per impl module, the entries of the error-input table, the
corruptions they try (each once per Hypothesis example) and the valid variants' entries."""

from __future__ import annotations

from collections import Counter

from tests.error_inputs import corruptions
from tests.error_inputs.table import ENTRIES, XFAIL


def main() -> None:
    entries, corr, runnable, xfail = Counter(), Counter(), Counter(), Counter()
    for e in ENTRIES:
        mod = e.name.split(".")[0]
        entries[mod] += 1
        if e.record:
            continue
        corr[mod] += len(corruptions(e))
        runnable[mod] += e.run_valid
        xfail[mod] += e.name in XFAIL
    print(f"{'module':18} {'entries':>7} {'corruptions':>11} {'variant entries':>15} "
          f"{'xfail':>5}")
    for mod in sorted(entries):
        print(f"{mod:18} {entries[mod]:7} {corr[mod]:11} {runnable[mod]:15} {xfail[mod]:5}")
    print(f"{'total':18} {sum(entries.values()):7} {sum(corr.values()):11} "
          f"{sum(runnable.values()):15} {sum(xfail.values()):5}")


if __name__ == "__main__":
    main()
