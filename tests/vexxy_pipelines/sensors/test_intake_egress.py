"""The submission sensor judges a customer's registry again when it contacts it: an internal address
not allowed by configuration fails the submission before any connection is made."""

import pytest
from dagster import DagsterInstance
from ports import free_port

from vexxy.errors import RegistryUnavailable
from vexxy.oci.egress import RegistryNotAllowed
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.sensors.submission_intake import customer_resolver


def test_an_internal_registry_is_refused_before_it_is_contacted():
    reference = f"127.0.0.1:{free_port()}/team/app:1"
    with pytest.raises(RegistryNotAllowed, match="loopback"):
        customer_resolver(RegistryResource(allowed_registries=""), DagsterInstance.ephemeral())(reference)
    with pytest.raises(RegistryUnavailable):  # allowed: contacted (and nothing listens there)
        customer_resolver(RegistryResource(allowed_registries="127.0.0.1"), DagsterInstance.ephemeral())(reference)
