"""The reviews tests' fixtures (resolved tickets, captured emails) for the cross-site pages too."""

from tests.tenant_apps.reviews.conftest import notify, resolve  # noqa: F401
