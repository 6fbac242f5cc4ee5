"""``python -m derivations``: print the claims table; ``--write README.md`` refreshes it there."""

import re
import sys
from pathlib import Path

from derivations.registry import markdown_table

table = markdown_table()
if len(sys.argv) == 3 and sys.argv[1] == "--write":
    path = Path(sys.argv[2])
    text, n = re.subn(r"(<!-- claims:start -->\n).*?(<!-- claims:end -->)",
                      lambda m: m.group(1) + table + "\n" + m.group(2),
                      path.read_text(), flags=re.S)
    if n != 1:
        sys.exit(f"{path} has no <!-- claims:start --> ... <!-- claims:end --> block")
    path.write_text(text)
elif len(sys.argv) == 1:
    print(table)
else:
    sys.exit("usage: python -m derivations [--write README.md]")
