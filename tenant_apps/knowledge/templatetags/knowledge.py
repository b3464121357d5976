"""The knowledge base's panel on the ticket page (`{% ticket_articles %}`), so the ticket views
stay unaware of it: two queries (the ticket's links, then related articles)."""

from django import template

from tenant_apps.knowledge import selectors
from tenant_apps.knowledge.forms import LinkForm
from tenant_apps.tickets.models import Ticket

register = template.Library()


@register.inclusion_tag("knowledge/_ticket_panel.html", takes_context=True)
def ticket_articles(context, ticket: Ticket):
    request = context["request"]
    role = getattr(request, "role", None)
    is_engineer = role == selectors.ENGINEER
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "ticket": ticket,
        "is_engineer": is_engineer,
        "links": list(selectors.ticket_links_for(ticket=ticket, role=role)),
        "related": selectors.article_related_for(ticket=ticket, user=request.user, role=role),
        "link_form": LinkForm() if is_engineer else None,
        "can_draft": is_engineer and ticket.status in ("resolved", "closed"),
    }
