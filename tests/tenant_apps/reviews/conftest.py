import pytest
from django.core import mail
from django.db import connection

from tenant_apps.tickets import services


@pytest.fixture
def resolve(users):
    """A ticket of `requester` on `site`, assigned to `engineer` and resolved by them."""

    def make(site, *, requester=None, engineer=None, subject="Printer jams", category=None):
        connection.set_tenant(site)
        requester = requester or users[f"{site.subdomain}_staff"]
        engineer = engineer or users["engineer_all"]
        ticket = services.ticket_create(requester=requester, subject=subject, description="<p>x</p>", category=category)
        services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)
        return services.ticket_transition(ticket=ticket, actor=engineer, role="engineer", new_status="resolved")

    return make


@pytest.fixture
def notify(django_capture_on_commit_callbacks):
    """Run the after-commit work of the block (eager tasks) and return the emails it sent."""

    class Capture:
        def __enter__(self):
            mail.outbox.clear()
            self._ctx = django_capture_on_commit_callbacks(execute=True)
            self._ctx.__enter__()
            return mail.outbox

        def __exit__(self, *exc):
            return self._ctx.__exit__(*exc)

    return Capture
