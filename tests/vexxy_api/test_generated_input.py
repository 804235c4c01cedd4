"""Generated input against every endpoint of the OpenAPI document, with and without valid credentials:
no request may get a 5xx. Schemathesis generates valid (positive) and invalid (negative) requests per
operation from the app's own OpenAPI document; signed Stripe events with generated content and
registry envelopes with generated content go through the same app. Prints requests, endpoints
and 5xx count."""

import hashlib
import hmac
import json
import time

import pytest
import schemathesis
from billing_helpers import JWT_KEY, make_organization, token
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from vexxy_api.app import create_app
from vexxy_api.settings import ApiSettings

STRIPE_SECRET = "whsec_generated_input"
EXAMPLES = {GenerationMode.POSITIVE: 110, GenerationMode.NEGATIVE: 60}
SIGNED_EVENTS = 250
MIN_REQUESTS = 2_000


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
stripe_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.text(max_size=120),
        "type": json_values | st.sampled_from(["customer.subscription.updated", "customer.subscription.deleted", "invoice.paid"]),
        "created": json_values | st.integers(-(2**64), 2**64),
        "data": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "object": json_values
                | st.dictionaries(
                    st.sampled_from(
                        ["customer", "id", "status", "items", "metadata", "current_period_start", "current_period_end"]
                    ),
                    json_values,
                )
            },
        ),
    },
)


@pytest.fixture
def app(stripe_proxy, app_database):
    settings = ApiSettings(
        database_url=app_database.url,
        jwt_key=JWT_KEY,
        stripe_api_key="sk_test_vexxy",
        stripe_api_base=stripe_proxy.url,
        stripe_webhook_secret=STRIPE_SECRET,
        allowed_registries=frozenset(),
    )
    return create_app(settings)


@pytest.fixture
def credentials(app, app_database):
    """Every kind of caller: admins and members by JWT and by API key, another organization, an unknown one, nobody."""
    organization = make_organization(app_database.sessions, tier="team")
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {token(organization, role='admin')}"}
        key = client.post("/api/v1/api-keys", json={"name": "fuzz", "role": "admin"}, headers=admin).json()["key"]
        watched = client.post(
            "/api/v1/watched-repositories", json={"repository": "registry.example.com/fuzz/app"}, headers=admin
        ).json()
        assert (
            client.post("/api/v1/analyses", json={"image": "registry.example.com/fuzz/app:1"}, headers=admin).status_code == 201
        )
    return {
        "admin": admin,
        "member": {"Authorization": f"Bearer {token(organization, role='member')}"},
        "api_key": {"Authorization": f"Bearer {key}"},
        "inbox": {"Authorization": f"Bearer {watched['notification_secret']}"},
        "other_organization": {"Authorization": f"Bearer {token(make_organization(app_database.sessions, tier='free'))}"},
        "unknown_organization": {"Authorization": f"Bearer {token('no-such-organization')}"},
        "nobody": {},
    }


def drive(operation, mode: GenerationMode, examples: int, call) -> None:
    @bounded(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def generated(case):
        call(operation.label, lambda headers: case.call(headers={**(case.headers or {}), **headers}))

    try:
        generated()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # nothing about this operation can be invalid (no parameters, or only unconstrained strings)


def test_no_generated_request_gets_a_5xx(app, credentials, capsys):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    callers = list(credentials.values())
    counts = {"requests": 0, "endpoints": set(), "5xx": []}

    def call(label: str, send) -> None:
        response = send(callers[counts["requests"] % len(callers)])
        counts["requests"] += 1
        counts["endpoints"].add(label)
        if response.status_code >= 500:
            counts["5xx"].append((label, response.status_code, response.text[:300]))

    with TestClient(app) as client:  # lifespan once; schemathesis calls the same app in process
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode, examples in EXAMPLES.items():
                drive(operation, mode, examples, call)

        @bounded(SIGNED_EVENTS)
        @given(event=stripe_like | json_values)
        def signed_stripe_events(event):
            payload = json.dumps(event).encode()
            stamp = int(time.time())
            signature = hmac.new(STRIPE_SECRET.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
            call(
                "POST /webhooks/stripe (signed)",
                lambda _: client.post(
                    "/webhooks/stripe",
                    content=payload,
                    headers={"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"},
                ),
            )

        signed_stripe_events()

    endpoints = {label.split(" (")[0] for label in counts["endpoints"]}
    with capsys.disabled():
        print(
            f"\ngenerated input: {counts['requests']} requests, {len(endpoints)} endpoints, {len(counts['5xx'])} responses >= 500"
        )
    assert not counts["5xx"], counts["5xx"][:5]
    assert counts["requests"] >= MIN_REQUESTS
    assert endpoints == {op.ok().label for op in schema.get_all_operations()}
