"""Absolute links to the root domain and to a site, for emails (also sent from workers, where
there is no request to take the host from)."""

from django.conf import settings


def _origin(host: str) -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{host}{port}"


def root_url(path: str = "/") -> str:
    return _origin(settings.ROOT_DOMAIN) + path


def site_url(client, path: str = "/") -> str:
    domain = client.get_primary_domain()
    host = domain.domain if domain else f"{client.subdomain}.{settings.ROOT_DOMAIN}"
    return _origin(host) + path


def site_url_for_subdomain(subdomain: str, path: str = "/") -> str:
    """A site's link from its subdomain alone (no domain query), for lists of many sites."""
    return _origin(f"{subdomain}.{settings.ROOT_DOMAIN}") + path
