"""Tickets live in each client site's own schema (DESIGN section 5).

Every write goes through `services.py`, which validates, writes a `TicketEvent` and schedules
notifications after commit. Foreign keys to the public user table carry no database constraint
(DESIGN section 3): users are deactivated, never deleted.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

DEFAULT_CATEGORIES = [
    ("network", "Network"),
    ("hardware", "Hardware"),
    ("software", "Software"),
    ("access", "Access"),
    ("email", "Email"),
    ("security", "Security"),
    ("other", "Other"),
]


def _user_fk(**kwargs):
    return models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, **kwargs)


class Category(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# Seeded into every site (migration 0004); client admins may change their site's targets.
DEFAULT_SLA_MINUTES = {
    Priority.LOW: (8 * 60, 5 * 24 * 60),
    Priority.MEDIUM: (4 * 60, 3 * 24 * 60),
    Priority.HIGH: (60, 24 * 60),
    Priority.URGENT: (15, 4 * 60),
}


class SLAPolicy(models.Model):
    priority = models.CharField(max_length=8, choices=Priority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"{self.get_priority_display()}: {self.first_response_minutes} / {self.resolution_minutes} min"


class TicketCounter(models.Model):
    """One row; numbers come from it under a row lock, in the creating transaction, so a
    rolled-back creation gives its number back and numbering stays gap-free."""

    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"last ticket number {self.last_number}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING = "pending", "Waiting on requester"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    number = models.PositiveIntegerField(unique=True)
    subject = models.CharField(max_length=200)
    description = models.TextField(help_text="Sanitized HTML.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    requester = _user_fk(related_name="+")
    assignee = _user_fk(null=True, blank=True, related_name="+")
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True, help_text="Set while pending.")
    sla_paused_seconds = models.PositiveIntegerField(default=0, help_text="Time spent pending so far.")
    first_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)

    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            GinIndex(fields=["search_vector"], name="ticket_search_gin"),
            models.Index(fields=["requester", "-updated_at"], name="ticket_requester_recent"),
            models.Index(fields=["status", "resolution_due"], name="ticket_status_due"),
            # The lists' default order: the page of 50 without sorting every ticket first.
            models.Index(fields=["-updated_at"], name="ticket_recent"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.RESOLVED, self.Status.CLOSED)

    @property
    def sla_due(self):
        """The next SLA target: first response while there is none, then resolution."""
        if self.first_responded_at is None and self.first_response_due:
            return self.first_response_due
        return self.resolution_due

    def sla_state(self) -> tuple[str, str]:
        """(label, Bootstrap colour) for lists and the ticket page."""
        if self.first_response_breached or self.resolution_breached:
            return "Breached", "danger"
        if self.is_finished:
            return "Done", "secondary"
        if self.sla_paused_at:
            return "Paused", "secondary"
        due = self.sla_due
        if due is None:
            return "No target yet", "secondary-subtle text-secondary-emphasis border"
        left = due - timezone.now()
        if left.total_seconds() <= 0:
            return "Overdue", "danger"
        if left.total_seconds() <= 4 * 3600:
            return "Due soon", "warning"
        return "On track", "success"


class Message(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", "Reply"
        INTERNAL = "internal", "Internal note"
        AI = "ai", "AI"
        SYSTEM = "system", "System"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = _user_fk(null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PUBLIC)
    body = models.TextField(help_text="Sanitized HTML.")
    created_at = models.DateTimeField(default=timezone.now)
    ai_model = models.CharField(
        max_length=100, blank=True, help_text="Set when an AI wrote or helped write this message: provider/model."
    )
    ai_sources = models.JSONField(default=list, blank=True, help_text="[{title, url}] an AI answer was based on.")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on ticket {self.ticket_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Per-site folder, random name: the stored name never comes from the user, and files are only
    # served through the access-checked download view, never from a public media URL.
    from uuid import uuid4

    from django.db import connection

    return f"sites/{connection.schema_name}/attachments/{instance.ticket_id}/{uuid4().hex}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, help_text="Detected from the content, not the name.")
    size = models.PositiveIntegerField()
    uploaded_by = _user_fk(related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class TicketEvent(models.Model):
    """Append-only audit trail: who changed what, from what, to what, when."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = _user_fk(null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=32)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_time")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"


class TimeEntry(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="time_entries")
    engineer = _user_fk(related_name="+")
    minutes = models.PositiveIntegerField()
    billable = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True)
    work_date = models.DateField(default=timezone.localdate)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-work_date", "-created_at"]
        verbose_name_plural = "time entries"

    def __str__(self) -> str:
        return f"{self.minutes} min on ticket {self.ticket_id}"
