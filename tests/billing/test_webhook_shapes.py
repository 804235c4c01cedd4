"""A signed Stripe event is still checked for the shape the handlers rely on; each refusal says which part."""

import pytest

from billing.webhooks import MalformedEvent, check_event

OK = {"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {"object": {"customer": "cus_1"}}}


def event(**changes):
    return {**OK, **changes}


def obj(**fields):
    return event(data={"object": {"customer": "cus_1", **fields}})


@pytest.mark.parametrize(
    "bad, message",
    [
        ([], "The event is not a JSON object."),
        (event(id=None), "The event's id must be a string of 1 to 100 characters."),
        (event(id=""), "The event's id must be a string of 1 to 100 characters."),
        (event(id="e" * 101), "The event's id must be a string of 1 to 100 characters."),
        (event(id="evt\x00"), "The event's id must be a string of 1 to 100 characters."),
        (event(id=7), "The event's id must be a string of 1 to 100 characters."),
        (event(type=None), "The event's type must be a string of 1 to 100 characters."),
        (event(created="1"), "The event's created time must be a Unix timestamp."),
        (event(created=True), "The event's created time must be a Unix timestamp."),
        (event(created=-1), "The event's created time must be a Unix timestamp."),
        (event(created=2**40), "The event's created time must be a Unix timestamp."),
        (event(data=[]), "The event's data.object must be an object."),
        (event(data={"object": "x"}), "The event's data.object must be an object."),
        (obj(id=5), "The event's object id must be a string of 1 to 100 characters."),
        (obj(customer="c" * 101), "The event's customer must be a string of 1 to 100 characters."),
        (obj(status="s" * 21), "The event's status must be a string of 1 to 20 characters."),
        (obj(current_period_start="soon"), "The event's current_period_start must be a Unix timestamp."),
        (obj(current_period_end=1.5), "The event's current_period_end must be a Unix timestamp."),
        (obj(metadata=["x"]), "The event's metadata and items must be objects."),
        (obj(items=["x"]), "The event's metadata and items must be objects."),
        (obj(items={"data": {"plan": {}}}), "The event's items.data must be a list of subscription items."),
        (obj(items={"data": ["x"]}), "The event's items.data must be a list of subscription items."),
        (obj(items={"data": [{"plan": "p"}]}), "The event's items.data must be a list of subscription items."),
        (obj(items={"data": [{"price": ["p"]}]}), "The event's items.data must be a list of subscription items."),
        (obj(items={"data": [{"plan": {}}, "x"]}), "The event's items.data must be a list of subscription items."),
    ],
)
def test_a_malformed_event_is_refused_saying_which_part(bad, message):
    with pytest.raises(MalformedEvent) as error:
        check_event(bad)
    assert error.value.message == message


@pytest.mark.parametrize(
    "good",
    [
        OK,
        {"id": "e" * 100, "type": "t" * 100},  # no created time, no data: ignored later, not malformed
        event(created=0),
        event(created=2**40 - 1),
        event(data={}),
        obj(id="sub_1", status="s" * 20, current_period_start=0, current_period_end=2**40 - 1),
        obj(metadata=None, items=None),
        obj(items={"data": None}),
        obj(items={"data": [{"plan": None, "price": {"id": "p"}}, {"plan": {"id": "q"}}]}),
    ],
)
def test_a_well_formed_event_passes_unchanged(good):
    assert check_event(good) is good
