"""Whose analyses the operator's registry login serves: the operator's own and the organizations named for it."""

from vexxy.oci.credentials import login_serves, parse_organizations


def test_the_login_serves_the_operator_and_the_organizations_named_only():
    named = parse_organizations(" org-a, org-c ,,")
    assert named == frozenset({"org-a", "org-c"})
    assert login_serves(None, named) and login_serves("org-a", named) and login_serves("org-c", named)
    assert not login_serves("org-b", named)
    assert login_serves(None, frozenset()) and not login_serves("org-a", frozenset())  # by default: the operator's only
    assert login_serves("org-b", parse_organizations("*"))
