"""A statement's description: never a half word, an ellipsis when cut, the whole text when it fits."""

from vexxy.matching.database import AdvisoryDatabase
from vexxy.matching.matcher import match_components
from vexxy.osv.description import DESCRIPTION_LIMIT, describe_advisory, excerpt
from vexxy.osv.records import parse_osv
from vexxy.sbom.components import Component

LONG_DETAILS = (
    "A template injection in the sandboxed environment lets an attacker who controls a template escape the "
    "sandbox and run arbitrary code on the host. The filter that formats attribute names does not check "
    "whether the name is safe, so a crafted template reaches private attributes of the objects it is given "
    "and from there the interpreter itself. Upgrade to the fixed release."
)


def test_long_details_are_cut_between_words_with_an_ellipsis():
    assert len(LONG_DETAILS) > DESCRIPTION_LIMIT
    text = describe_advisory("", LONG_DETAILS)
    assert len(text) <= DESCRIPTION_LIMIT and text.endswith("…")
    words = text.removesuffix("…").split(" ")
    assert words == LONG_DETAILS.split(" ")[: len(words)], "the last word is whole"


def test_a_short_text_is_kept_whole_without_an_ellipsis():
    assert describe_advisory("", "Denial of service via crafted input.") == "Denial of service via crafted input."
    assert excerpt("x" * DESCRIPTION_LIMIT) == "x" * DESCRIPTION_LIMIT


def test_the_summary_wins_and_line_breaks_read_as_spaces():
    assert describe_advisory("Short summary", LONG_DETAILS) == "Short summary"
    assert describe_advisory("  ", "first line\nsecond   line") == "first line second line"


def test_a_single_overlong_word_still_fits_the_limit():
    assert excerpt("d" * 400) == "d" * (DESCRIPTION_LIMIT - 1) + "…"


def test_a_match_without_summary_carries_whole_words_of_the_details():
    record = parse_osv(
        {
            "id": "PYSEC-1",
            "modified": "2024-01-01T00:00:00Z",
            "details": LONG_DETAILS,
            "affected": [{"package": {"ecosystem": "PyPI", "name": "lib"}, "versions": ["1.0"]}],
        }
    )
    component = Component("r1", "lib", "1.0", "python", "pkg:pypi/lib@1.0", "PyPI", "lib", "1.0")
    (match,) = match_components([component], AdvisoryDatabase([record])).matches
    assert match.summary == describe_advisory("", LONG_DETAILS)
    assert match.summary.removesuffix("…").split(" ")[-1] in LONG_DETAILS.split(" ")
