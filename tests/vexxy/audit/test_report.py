"""The audit report is one self-contained HTML file, and whatever an image or an advisory wrote stays text."""

from html.parser import HTMLParser

from audit_documents import PROVENANCE, documents

from vexxy.audit.diff import diff_statements
from vexxy.audit.explain import explain
from vexxy.audit.report import render_report

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> "quoted" & <a href="https://evil.example/">link</a>'


class Collector(HTMLParser):
    """Tags, attributes and text of a document, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br", "img", "link"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def report(summary: str = "Jinja2 ReDoS.", diff=None) -> Collector:
    docs = documents(summary)
    answers = [a for name in ("CVE-2020-14343", "CVE-2020-28493", "CVE-2022-37434") for a in explain(name, docs, PROVENANCE)]
    about = {"partition": PROVENANCE["partition"], "run": PROVENANCE["run_id"], "advisory_snapshot": "d" * 64}
    html = render_report(about, answers, PROVENANCE["inputs"], diff)
    parsed = Collector()
    parsed.feed(html)
    parsed.close()
    assert parsed.open == [] and html.startswith("<!DOCTYPE html>")
    return parsed


def test_the_report_renders_every_statement_with_its_evidence_and_the_lineage():
    parsed = report()
    text = " ".join(" ".join(parsed.text).split())
    for expected in ("CVE-2020-28493", "CVE-2020-14343", "CVE-2022-37434", "PYSEC-2021-66", "lexer.py at +1.25 s"):
        assert expected in text
    sections = [attrs for tag, attrs in parsed.tags if tag == "section"]
    assert len(sections) == 3
    statuses = [attrs["class"] for tag, attrs in parsed.tags if tag == "span" and "status" in attrs.get("class", "")]
    assert {"status affected", "status not_affected", "status under_investigation"} <= set(statuses)
    assert "execution_profile.json: " + "f" * 64 in text  # the lineage cites each input document's hash


def test_the_report_is_self_contained():
    parsed = report()
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "a", "form", "base"}
    for _tag, attrs in parsed.tags:
        assert not {"src", "href", "action"} & attrs.keys()
    (policy,) = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert policy["content"].startswith("default-src 'none'")


def test_hostile_advisory_text_and_paths_stay_text():
    parsed = report(summary=HOSTILE)
    assert HOSTILE in "".join(parsed.text)  # shown exactly as written ...
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags and "a" not in tags  # ... and never markup
    assert not any("onerror" in attrs for _, attrs in parsed.tags)


def test_the_report_shows_the_diff_against_the_previous_vex():
    before = documents().statements
    after = [s for s in before if s["vulnerability"] != "CVE-2022-37434"]
    parsed = report(diff=diff_statements(before, after, {"run_id": "previous-run"}, {"run_id": "this-run"}))
    text = " ".join(" ".join(parsed.text).split())
    assert "1 removed, 2 unchanged (previous run previous-run" in text
    assert "removed: no longer matched" in text


def test_invisible_and_control_characters_are_shown_not_obeyed():
    """A right-to-left override in a file name or an advisory would make the report read other than it says."""
    parsed = report(summary="loads /app/\u202egnp.exe\x1b[8m hidden\u200b. Line one.\nLine two.")
    text = "".join(parsed.text)
    assert "\u202e" not in text and "\x1b" not in text and "\u200b" not in text
    assert "/app/\\u202egnp.exe\\x1b[8m hidden\\u200b. Line one.\nLine two." in text
