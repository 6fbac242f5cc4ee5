"""``python -m derivations``: print the claims table that README.md carries."""

from derivations.registry import markdown_table

print(markdown_table())
