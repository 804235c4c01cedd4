"""Only a VEX of the image run as it is is signed into its registry: a configuration can make a workload load nothing."""

from vexxy.attest.policy import configuration_named, not_attestable
from vexxy.oci.image import ImageConfig, Layer, Platform, ResolvedImage
from vexxy.vex.openvex import render_openvex

CONFIG_HASH = "sha256:" + "c" * 64


def image() -> ResolvedImage:
    return ResolvedImage(
        reference="127.0.0.1:5000/vexxy/demo:1.0",
        name="127.0.0.1:5000/vexxy/demo",
        manifest_digest="sha256:" + "1" * 64,
        media_type="application/vnd.oci.image.manifest.v1+json",
        platform=Platform(),
        config_digest="sha256:" + "3" * 64,
        config=ImageConfig(),
        layers=[Layer("sha256:" + "4" * 64, 10, "x")],
    )


def test_a_vex_of_a_configured_analysis_is_not_attested():
    configured = render_openvex(image(), [], config_hash=CONFIG_HASH)
    assert configuration_named(configured) == CONFIG_HASH
    reason = not_attestable(configured)
    assert reason.startswith(f"skipped: the VEX comes from an analysis with a customer configuration ({CONFIG_HASH})")


def test_a_vex_of_the_image_as_it_is_is_attested():
    assert not_attestable(render_openvex(image(), [])) is None
    assert not_attestable({}) is None and not_attestable({"tooling": ["not", "text"]}) is None
