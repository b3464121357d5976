"""Browser security headers that Django has no setting for, and the CSP nonce for form media.

Content-Security-Policy itself comes from django-csp (CONTENT_SECURITY_POLICY in settings.py).
Scripts run only from our own origin, plus inline scripts carrying the request's nonce: the one
inline script we emit is the import map django-prose-editor needs, rendered by `nonced_media`.
"""

from django import template
from django.conf import settings
from js_asset import Media

register = template.Library()  # a template builtin (settings.TEMPLATES), no {% load %} needed


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` from settings.PERMISSIONS_POLICY: powerful features nobody here uses
    are switched off for our pages and anything they could embed."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowlist)})" for feature, allowlist in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response


@register.simple_tag(takes_context=True)
def nonced_media(context, media):
    """`{% nonced_media form.media %}` instead of `{{ form.media }}`: the same tags, with the
    request's CSP nonce on each (django-prose-editor's import map is an inline script)."""
    request = context.get("request")
    nonce = getattr(request, "csp_nonce", None)
    if nonce is None:
        return media.render() if hasattr(media, "render") else media
    return Media.from_media(media, nonce=nonce).render()
