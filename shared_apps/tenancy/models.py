"""Client sites, their domains, who belongs to them, and pending invitations (public schema)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin


class Client(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=100)
    subdomain = models.CharField(max_length=40, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    plan = models.ForeignKey("billing.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="clients")
    allow_signup = models.BooleanField(
        default=False, help_text="Let people whose email domain is listed below create their own account."
    )
    signup_domains = models.JSONField(default=list, blank=True, help_text="Email domains allowed to self-sign-up.")
    created_at = models.DateTimeField(default=timezone.now)
    suspended_at = models.DateTimeField(null=True, blank=True)

    # Provisioning builds the schema itself, inside its own transaction (tenancy/provisioning.py).
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_template(self) -> bool:
        return self.schema_name == settings.TENANT_BASE_SCHEMA

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED

    @property
    def ticket_prefix(self) -> str:
        return (self.subdomain or "").replace("-", "").upper()

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _forget_hosts_on_commit(self)

    def delete(self, *args, **kwargs):
        _forget_hosts_on_commit(self)
        return super().delete(*args, **kwargs)


class Domain(DomainMixin):
    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _forget_hosts_on_commit(self.tenant)


def _forget_hosts_on_commit(client: Client) -> None:
    # The host -> site cache (middleware) must never serve a changed or deleted site. Forget now
    # and again after commit, so a request that cached the old row in between is corrected too.
    from shared_apps.tenancy.host_cache import host_cache_forget_client

    host_cache_forget_client(client)
    transaction.on_commit(lambda: host_cache_forget_client(client))


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Client admin"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.STAFF)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="membership_one_per_user_and_site")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.client} ({self.role})"


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_DAYS)


class Invitation(models.Model):
    """Only a hash of the token is stored; the token itself travels in the email link once."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=8, choices=Membership.Role.choices, default=Membership.Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client", "email"])]

    def __str__(self) -> str:
        return f"{self.email} -> {self.client}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()
