from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def breakable_host(host: str) -> str:
    """A host name that a narrow column wraps only after its dots (`acme.<wbr>tenantdesk.<wbr>localhost`),
    never inside a label; copying it gives the plain name."""
    return mark_safe(".<wbr>".join(escape(label) for label in str(host).split(".")))  # noqa: S308 - escaped above
