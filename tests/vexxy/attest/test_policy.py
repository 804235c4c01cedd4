"""Only a VEX of the image run as it is is signed into its registry: a configuration can make a workload load nothing."""

from builders import resolved_image

from vexxy.attest.policy import EvidenceStrength, configuration_named, not_attestable, strength_of, weaker
from vexxy.oci.image import ResolvedImage
from vexxy.vex.openvex import render_openvex

CONFIG_HASH = "sha256:" + "c" * 64


def image() -> ResolvedImage:
    return resolved_image()


def test_a_vex_of_a_configured_analysis_is_not_attested():
    configured = render_openvex(image(), [], config_hash=CONFIG_HASH)
    assert configuration_named(configured) == CONFIG_HASH
    reason = not_attestable(configured)
    assert reason.startswith(f"skipped: the VEX comes from an analysis with a customer configuration ({CONFIG_HASH})")


def test_a_vex_of_the_image_as_it_is_is_attested():
    assert not_attestable(render_openvex(image(), [])) is None
    assert not_attestable({}) is None and not_attestable({"tooling": ["not", "text"]}) is None


# Which attested VEX a new one may replace: only one from evidence at least as strong, run the same way.

ATTESTED = EvidenceStrength(configuration="none", roles=("main",), fuzzing="completed", observation_seconds=60, complete=True)


def variant(**changes) -> EvidenceStrength:
    return EvidenceStrength(**{**ATTESTED.__dict__, **changes})


def test_the_same_evidence_replaces_the_attested_vex():
    """A re-evaluation of the same analysis against newer advisories must replace it."""
    assert weaker(ATTESTED, ATTESTED) is None


def test_stronger_evidence_replaces_the_attested_vex():
    partial = variant(fuzzing="none", observation_seconds=30, complete=False)
    assert weaker(ATTESTED, partial) is None
    assert weaker(variant(fuzzing="partial"), variant(fuzzing="none")) is None
    assert weaker(variant(observation_seconds=120), ATTESTED) is None


def test_weaker_evidence_does_not_replace_the_attested_vex():
    assert "web scan is none" in weaker(variant(fuzzing="none"), ATTESTED)
    assert "web scan is partial" in weaker(variant(fuzzing="partial"), ATTESTED)
    assert "observed for 30 s, the attested analysis for 60 s" in weaker(variant(observation_seconds=30), ATTESTED)
    assert "partial" in weaker(variant(complete=False), ATTESTED)


def test_evidence_from_other_settings_never_replaces_the_attested_vex_even_when_stronger():
    other = variant(configuration=CONFIG_HASH, observation_seconds=600)
    assert "another configuration" in weaker(other, ATTESTED)
    assert "another configuration" in weaker(ATTESTED, other)
    assert "other roles" in weaker(variant(roles=("web", "worker")), ATTESTED)


def test_strength_read_from_the_profile_and_findings():
    profile = {
        "complete": True,
        "window": {"configured_seconds": 45, "observed_seconds": 12.5},
        "roles": [{"name": "web"}, {"name": "worker"}],
        "analysis_config": {"hash": CONFIG_HASH},
    }
    expected = EvidenceStrength(CONFIG_HASH, ("web", "worker"), "completed", 45, True)
    assert strength_of(profile, {"status": "completed"}) == expected
    for status in ("skipped", "failed", None):
        assert strength_of(profile, {"status": status}).fuzzing == "none"
    nothing = strength_of(None, None)  # no runtime evidence at all: weaker than any observation
    assert nothing == EvidenceStrength("none", (), "none", 0, False)
    assert weaker(nothing, ATTESTED) is not None


def test_strength_travels_as_annotations_and_unreadable_ones_state_none():
    assert EvidenceStrength.from_annotations(ATTESTED.to_annotations()) == ATTESTED
    assert EvidenceStrength.from_annotations({"predicateType": "https://openvex.dev/ns"}) is None  # attached before
    broken = {**ATTESTED.to_annotations(), "dev.vexxy.evidence.observation-seconds": "a minute"}
    assert EvidenceStrength.from_annotations(broken) is None
