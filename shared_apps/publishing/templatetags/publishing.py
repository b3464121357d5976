"""`{% announcement_banners %}`: the current announcements on a client site's pages (no query
when nothing is announced, one otherwise; selectors.banners_for)."""

from django import template

from shared_apps.publishing.selectors import banners_for

register = template.Library()


@register.inclusion_tag("publishing/_banners.html", takes_context=True)
def announcement_banners(context):
    request = context["request"]
    return {
        "banners": banners_for(user=request.user, client=request.tenant),
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
    }
