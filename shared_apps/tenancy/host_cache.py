"""Host -> site lookups, cached in the global cache so a warm request makes no domain query.

Entries are dropped whenever a site or one of its domains changes (`Client.save`/`delete`,
`Domain.save`); `TENANT_HOST_CACHE_SECONDS` bounds how long a missed invalidation could live.
Unknown hosts are cached too (briefly), so a flood of random subdomains costs one query each.
"""

from django.conf import settings
from django.core.cache import cache

_MISSING = "missing"
_MISSING_SECONDS = 30


def _key(hostname: str) -> str:
    return f"tenancy:host:{hostname}"


def host_cache_get(hostname: str):
    """The cached `Client` for a host, `None` if not cached, `False` if known to be unknown."""
    value = cache.get(_key(hostname))
    if value == _MISSING:
        return False
    return value


def host_cache_set(hostname: str, client) -> None:
    if client is None:
        cache.set(_key(hostname), _MISSING, _MISSING_SECONDS)
    else:
        cache.set(_key(hostname), client, settings.TENANT_HOST_CACHE_SECONDS)


def host_cache_forget_client(client) -> None:
    hosts = set(client.domains.values_list("domain", flat=True)) if client.pk else set()
    if client.subdomain:
        hosts.add(f"{client.subdomain}.{settings.ROOT_DOMAIN}")
    cache.delete_many([_key(host) for host in hosts])
