"""The README stays what a newcomer reads first, and what it leaves to docs/ stays reachable: a short
README, links and anchors that resolve, every doc linked, every environment variable documented."""

import ast
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PACKAGES = ["vexxy", "vexxy_pipelines", "vexxy_api", "submissions", "billing", "appdb"]
PARSER = MarkdownIt("commonmark").enable("table")
ENV_NAME = re.compile(r"^(VEXXY|STRIPE|DAGSTER)_[A-Z0-9_]+$|^(DATABASE_URL|KUBECONFIG)$")
DOC_HINT = re.compile(r"docs/([a-z_]+\.md)(?: \('([^']+)'\))?")


def slug(text: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    tokens = PARSER.parse(path.read_text())
    found: set[str] = set()
    repeats: dict[str, int] = {}
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open":
            base = slug("".join(child.content for child in inline.children or []))
            repeats[base] = repeats.get(base, -1) + 1
            found.add(f"{base}-{repeats[base]}" if repeats[base] else base)  # a repeated heading gets -1, -2, ...
    return found


def links(path: Path) -> list[str]:
    found = []
    for token in PARSER.parse(path.read_text()):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrGet("href")))
    return found


def test_the_readme_stays_short():
    assert len(README.read_text().splitlines()) < 250


@pytest.mark.parametrize("script", ["./scripts/demo", "./scripts/test"])
def test_the_readme_gives_the_one_command_to_try_and_to_test(script):
    assert f"```sh\n{script}\n```" in README.read_text()
    assert (ROOT / script).is_file()


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_a_file_and_anchor_that_exist(page):
    broken = []
    for href in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):
            continue  # an absolute URL or mailto: is not ours to check
        target, _, anchor = href.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{href}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{href}: no such heading")
    assert not broken, broken


def test_every_doc_is_linked_from_the_readme():
    linked = {(ROOT / href.partition("#")[0]).resolve() for href in links(README)}
    assert [doc.name for doc in DOCS if doc not in linked] == []


def test_every_environment_variable_the_code_reads_is_documented():
    documented = (ROOT / "docs" / "configuration.md").read_text() + (ROOT / "docs" / "kubernetes.md").read_text()
    read = {
        node.value
        for package in PACKAGES
        for source in (ROOT / package).rglob("*.py")
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.match(node.value)
    }
    assert read and sorted(name for name in read if name not in documented) == []


def test_hints_in_the_code_name_docs_and_headings_that_exist():
    hints = [
        match
        for package in PACKAGES
        for source in (ROOT / package).rglob("*.py")
        for match in DOC_HINT.findall(source.read_text())
    ]
    assert hints, "the configuration error's hint names its doc"
    for name, heading in hints:  # heading is "" when the hint names only the doc
        doc = ROOT / "docs" / name
        assert doc.is_file(), name
        assert not heading or slug(heading) in anchors(doc), (name, heading)
