"""Subdomain rules and the schema names we generate from them."""

import re
import secrets

from django.core.exceptions import ValidationError

SUBDOMAIN_MIN = 3
SUBDOMAIN_MAX = 40
# Lowercase DNS label: letters, digits, inner hyphens; no "--" (reserved for punycode, xn--).
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
RESERVED_SUBDOMAINS = frozenset(
    """
    www admin administrator api app apps assets auth billing blog cdn console dashboard dev docs
    email ftp help imap localhost login logout mail media mx ns ns1 ns2 pop public root smtp
    static status support system template templates tenant tenant-template tenants test webmail ws wss
    """.split()
)
# PostgreSQL keeps `pg_` for its own schemas (a `CREATE SCHEMA pg_x` fails); our schema names are
# generated (`s_<subdomain>_<random>`), but a site called `pg-...` would still read like one of
# the server's own schemas in every listing and log, so the prefix is reserved outright.
RESERVED_PREFIXES = ("pg-", "pg_")
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def subdomain_validate(value: str) -> str:
    """The subdomain as typed, or a ValidationError saying exactly what is wrong with it."""
    if value != value.strip():
        raise ValidationError("The subdomain must not start or end with spaces.", code="spaces")
    if not value:
        raise ValidationError("Enter a subdomain.", code="required")
    if not value.isascii():
        raise ValidationError("Use only the letters a-z, digits and hyphens (no accents or symbols).", code="ascii")
    if value != value.lower():
        raise ValidationError("Use lowercase letters only.", code="case")
    if not SUBDOMAIN_MIN <= len(value) <= SUBDOMAIN_MAX:
        raise ValidationError(
            f"Use {SUBDOMAIN_MIN} to {SUBDOMAIN_MAX} characters (this one has {len(value)}).", code="length"
        )
    if value.startswith(RESERVED_PREFIXES):
        raise ValidationError(
            f"Subdomains starting with '{value[:3]}' are reserved (PostgreSQL keeps 'pg_' for its own schemas); "
            "choose another subdomain.",
            code="reserved",
        )
    if not _SUBDOMAIN_RE.match(value):
        raise ValidationError(
            "Use only a-z, 0-9 and single hyphens, starting and ending with a letter or digit.", code="characters"
        )
    if value in RESERVED_SUBDOMAINS:
        raise ValidationError(f"'{value}' is reserved; choose another subdomain.", code="reserved")
    return value


def schema_name_for(subdomain: str) -> str:
    """A schema name we generate ourselves (never user input verbatim): `s_<subdomain>_<random>`."""
    name = f"s_{subdomain.replace('-', '_')}_{secrets.token_hex(3)}"
    assert _IDENT_RE.match(name), name
    return name


def quote_ident(name: str) -> str:
    """Quote a PostgreSQL identifier; the names we build are plain, this is defence in depth."""
    if "\x00" in name:
        raise ValueError("identifier contains NUL")
    return '"' + name.replace('"', '""') + '"'
