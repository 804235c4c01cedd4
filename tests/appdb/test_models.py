"""The schema behaves alike on PostgreSQL and the SQLite default."""

import uuid

from appdb.models import RegistryEvent


def test_the_registry_inbox_numbers_its_events(app_sessions):
    """The inbox's cursor is the event id: both databases assign increasing ones."""
    with app_sessions.begin() as session:
        events = [
            RegistryEvent(event_id=uuid.uuid4().hex, registry="r.example", repository="app", digest="sha256:" + "b" * 64)
            for _ in range(2)
        ]
        session.add_all(events)
        session.flush()
        assert 0 < events[0].id < events[1].id
