"""Fleet posture from per-image statements: counts per image, reach per vulnerability, fleet totals."""

import io
from datetime import UTC, datetime

import pandas as pd

from vexxy.fleet.posture import ImageOutcome, fleet_posture, to_csv


def statement(vulnerability, purl, status, fixed=()):
    return {"vulnerability": vulnerability, "component_purl": purl, "status": status, "fixed_versions": list(fixed)}


def outcomes():
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    return [
        ImageOutcome(
            "reg/app@sha256:a",
            "reg/app:1",
            [
                statement("CVE-1", "pkg:pypi/jinja2@2.11.2", "affected", ("2.11.3",)),
                statement("CVE-2", "pkg:pypi/pyyaml@5.3.1", "not_affected", ("5.4",)),
                statement("CVE-3", "pkg:deb/debian/libc6@2.36", "under_investigation"),
            ],
            True,
            at,
            "run-a",
            openvex_version=2,
        ),
        ImageOutcome(
            "reg/api@sha256:b",
            "reg/api:2",
            [
                statement("CVE-1", "pkg:pypi/jinja2@2.11.2", "not_affected", ("2.11.3",)),
                statement("CVE-2", "pkg:pypi/pyyaml@5.3.1", "not_affected"),
                # one vulnerability on two components: the image counts once, under the most urgent status
                statement("CVE-3", "pkg:deb/debian/libc6@2.36", "not_affected"),
                statement("CVE-3", "pkg:deb/debian/libc-bin@2.36", "affected"),
            ],
            False,
            at,
            "run-b",
        ),
        ImageOutcome("reg/empty@sha256:c", "reg/empty:3", [], None, at, "run-c"),
    ]


def test_one_row_per_image_with_counts_by_status_and_noise_reduction():
    images = fleet_posture(outcomes()).images.set_index("image")
    # most affected first, then most under investigation
    assert list(images.index) == ["reg/app@sha256:a", "reg/api@sha256:b", "reg/empty@sha256:c"]
    app, api, empty = images.loc["reg/app@sha256:a"], images.loc["reg/api@sha256:b"], images.loc["reg/empty@sha256:c"]
    assert (app["statements"], app["affected"], app["not_affected"], app["under_investigation"]) == (3, 1, 1, 1)
    assert app["noise_reduction"] == 1 / 3 and bool(app["profile_complete"]) and app["openvex_version"] == 2
    assert (api["statements"], api["affected"], api["not_affected"]) == (4, 1, 3) and api["noise_reduction"] == 0.75
    assert not bool(api["profile_complete"])
    assert empty["statements"] == 0 and empty["noise_reduction"] == 0.0 and pd.isna(empty["profile_complete"])
    assert app["last_analyzed"] == pd.Timestamp("2026-11-30T12:00:00Z") and app["reference"] == "reg/app:1"


def test_one_row_per_vulnerability_with_where_it_runs_and_where_it_is_not_reached():
    table = fleet_posture(outcomes()).vulnerabilities.set_index("vulnerability")
    assert list(table.index) == ["CVE-3", "CVE-1", "CVE-2"]  # most affected, then most under investigation
    cve1, cve2, cve3 = table.loc["CVE-1"], table.loc["CVE-2"], table.loc["CVE-3"]
    assert (cve1["images"], cve1["images_affected"], cve1["images_not_affected"]) == (2, 1, 1)
    assert cve1["affected_in"] == "reg/app@sha256:a" and cve1["not_reached_in"] == "reg/api@sha256:b"
    assert cve1["fixed_versions"] == "2.11.3"
    assert (cve2["images"], cve2["images_affected"], cve2["images_not_affected"]) == (2, 0, 2)
    assert (cve3["images_affected"], cve3["images_under_investigation"], cve3["images_not_affected"]) == (1, 1, 0)
    assert cve3["components"] == "pkg:deb/debian/libc-bin@2.36 pkg:deb/debian/libc6@2.36"


def test_fleet_totals():
    assert fleet_posture(outcomes()).totals() == {
        "images": 3,
        "statements": 7,
        "statements_affected": 2,
        "statements_not_affected": 4,
        "statements_under_investigation": 1,
        "statements_fixed": 0,
        "noise_reduction": 4 / 7,
        "images_with_affected": 2,
        "images_observed_incompletely": 1,
        "images_never_observed": 1,
        "vulnerabilities": 3,
        "vulnerabilities_affected_somewhere": 2,
        "vulnerabilities_never_reached": 1,
    }


def test_an_empty_fleet_has_empty_tables_and_zero_totals():
    posture = fleet_posture([])
    assert posture.images.empty and posture.vulnerabilities.empty
    assert posture.totals()["images"] == 0 and posture.totals()["noise_reduction"] == 0.0


def test_csv_cells_that_would_start_a_formula_are_shown_as_text():
    at = datetime(2026, 11, 30, tzinfo=UTC)
    hostile = ImageOutcome(
        "reg/x@sha256:d", '=HYPERLINK("http://evil")', [statement("CVE-9", "@SUM(1)", "affected")], True, at, "r"
    )
    posture = fleet_posture([hostile])
    images = pd.read_csv(io.BytesIO(to_csv(posture.images)))
    vulnerabilities = pd.read_csv(io.BytesIO(to_csv(posture.vulnerabilities)))
    assert images.loc[0, "reference"] == '\'=HYPERLINK("http://evil")' and images.loc[0, "image"] == "reg/x@sha256:d"
    assert vulnerabilities.loc[0, "components"] == "'@SUM(1)" and images.loc[0, "affected"] == 1
