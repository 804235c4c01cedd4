"""Metadata tables render every cell literally, as a GFM renderer (the UI's) shows them."""

from markdown_it import MarkdownIt

from vexxy_pipelines.metadata import md_table

RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])

CELLS = [
    "/usr/lib/python3/site-packages/yaml/__init__.py",
    "pkg:pypi/my_package@1.0_rc1",
    "*starred* and `ticked`",
    "[link](http://example.invalid) <b>bold</b> &amp; ~~struck~~",
    "a | b",
    "back\\slash",
    "two\nlines",
]


def test_every_cell_renders_as_its_own_text_and_markup_stays_literal():
    markdown = md_table(["file", "value"], [(cell, cell) for cell in CELLS]).value
    rendered = RENDERER.render(markdown)
    assert "<strong>" not in rendered and "<em>" not in rendered and "<code>" not in rendered
    assert "<a " not in rendered and "<b>" not in rendered and "<s>" not in rendered and "<del>" not in rendered
    texts = [token for token in RENDERER.parse(markdown) if token.type == "inline"]
    expected = ["file", "value"] + [" ".join(cell.split()) for cell in CELLS for _ in (0, 1)]
    assert ["".join(child.content for child in token.children) for token in texts] == expected


def test_init_py_keeps_its_underscores():
    rendered = RENDERER.render(md_table(["file"], [("yaml/__init__.py",)]).value)
    assert "<td>yaml/__init__.py</td>" in rendered
