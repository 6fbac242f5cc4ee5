"""The documentation is consistent: every relative link in README.md and docs/ resolves (to a
file, and to a heading where it names one), and docs/claims.md is what the registry generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from derivations.registry import catalogue

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#+ (.*)$", text, re.M)}


def links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text()))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no file {dest.relative_to(ROOT)})")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_the_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n[ok](#title) [bad](missing.md) [bad anchor](#nope)\n")
    assert links(page) == ["#title", "missing.md", "#nope"]
    assert "title" in anchors(page) and "nope" not in anchors(page)


def test_no_page_points_at_files_outside_the_repository():
    """The seeds and PROBLEMS.md are not part of a clone: cite them, never link to them."""
    offenders = [str(p.relative_to(ROOT)) for p in PAGES if "../shared" in p.read_text()]
    assert not offenders, f"pages linking outside the repository: {offenders}"


@pytest.mark.slow
def test_claims_catalogue_is_the_registry():
    """docs/claims.md is ``python -m derivations --write docs/claims.md`` output."""
    assert (ROOT / "docs" / "claims.md").read_text() == catalogue(), (
        "docs/claims.md is stale: regenerate it with "
        "`python -m derivations --write docs/claims.md`")
