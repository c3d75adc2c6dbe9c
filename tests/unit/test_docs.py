"""The README is a front door (at most 250 lines, linking every page of docs/), and every relative link of the
README and of docs/ resolves: to a file that exists and, with an ``#anchor``, to one of its headings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PAGES = sorted((REPO / "docs").glob("*.md"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (but - and _), spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    in_code = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"#{1,6} (.+)", line)):
            base = slug(match[1])
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def test_slugs_follow_github() -> None:
    assert slug("Long jobs: resume, the GPU, an account of every frame") == (
        "long-jobs-resume-the-gpu-an-account-of-every-frame")
    assert slug("`convert --to flow` (5.0.1)") == "convert---to-flow-501"
    page_anchors = anchors(README)
    assert page_anchors and all(anchor == anchor.lower() for anchor in page_anchors)


def test_the_readme_is_a_front_door_that_links_every_page() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines"
    assert len(PAGES) >= 8
    linked = {(README.parent / target.split("#")[0]).resolve() for target in relative_links(README)}
    assert not [page.name for page in PAGES if page.resolve() not in linked]
    for command in ("tools/true_depth.sh", "tools/run_tests.sh"):
        assert f"\n{command}\n" in README.read_text(), f"the set-up command {command} is not on a line of its own"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    links = relative_links(page)
    for target in links:
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        assert destination.exists(), f"{page.name}: {target} does not exist"
        if anchor and destination.suffix == ".md":
            assert anchor in anchors(destination), f"{page.name}: no heading #{anchor} in {destination.name}"
