from types import SimpleNamespace

import pytest
from channels.layers import channel_layers
from django.contrib.sessions.models import Session
from django.test import override_settings

from tests.processes import committed, site_tickets_restore, site_tickets_snapshot
from tests.tenant_apps.tickets.live_support import session_for

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
PEOPLE = ("acme_staff", "acme_admin", "engineer_acme", "engineer_all", "outsider", "globex_staff")


@pytest.fixture
def live(acme, globex, users):
    """For the live-thread tests: sessions for the cast, a fresh in-memory channel layer, and the
    sites put back after."""
    sites = [acme, globex]
    counters = site_tickets_snapshot(sites)
    keys = committed(lambda: {who: session_for(users[who]) for who in PEOPLE})
    channel_layers.backends.clear()
    with override_settings(CHANNEL_LAYERS=IN_MEMORY):
        yield SimpleNamespace(acme=acme, globex=globex, users=users, key=keys)
    channel_layers.backends.clear()
    committed(lambda: Session.objects.filter(session_key__in=keys.values()).delete())
    site_tickets_restore(sites, counters)
