"""``python -m derivations [TOPIC ...]``: print the claims catalogue (optionally only the
topics whose name starts with one of the given prefixes, e.g. ``softmax batchnorm``);
``python -m derivations --write docs/claims.md`` regenerates the committed catalogue."""

import os
import sys
from pathlib import Path

from derivations.registry import catalogue, load_all, markdown_table

USAGE = "usage: python -m derivations [TOPIC ...] | --write docs/claims.md"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--write"]:
        if len(argv) != 2:
            print(USAGE, file=sys.stderr)
            return 2
        Path(argv[1]).write_text(catalogue())
        return 0
    if any(a.startswith("-") for a in argv):
        print(USAGE, file=sys.stderr)
        return 2
    topics = {c.id.split(".", 1)[0] for c in load_all().values()}
    unknown = [a for a in argv if not any(t.startswith(a) for t in topics)]
    if unknown:
        print(f"unknown topic {', '.join(unknown)}; topics: {', '.join(sorted(topics))}",
              file=sys.stderr)
        return 2
    try:
        print(markdown_table(tuple(argv)))
        sys.stdout.flush()
    except BrokenPipeError:  # `python -m derivations | head`: the reader has gone, not an error
        # No second BrokenPipeError when the interpreter flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


sys.exit(main(sys.argv[1:]))
