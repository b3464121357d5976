"""The IT company's engineers: which sites they cover and what they are good at (public schema)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class EngineerProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engineer_profile")
    skills = ArrayField(models.SlugField(max_length=50), default=list, blank=True, help_text="Category slugs.")
    covers_all_sites = models.BooleanField(default=False)
    sites = models.ManyToManyField("tenancy.Client", blank=True, related_name="engineers")
    capacity = models.PositiveIntegerField(default=10, help_text="Most open tickets assigned at once.")
    is_available = models.BooleanField(default=True)
    away_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True, help_text="For round robin on ties.")
    # One picture for every site the engineer covers and for the root domain (client staff have
    # one per site, on `profiles.Profile`): a 256 px square WebP re-encoded by
    # profiles/avatars.py, stored under `engineers/avatars/<user id>/`, served only by the
    # access-checked `engineer_avatar` view. The version changes with every upload and removal.
    avatar = models.FileField(max_length=200, blank=True)
    avatar_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"Engineer {self.user}"

    @property
    def avatar_shown(self) -> int:
        """The version to put in the picture's URL, 0 if there is no picture (a removal also
        changes the version)."""
        return self.avatar_version if self.avatar else 0


OPEN_ROWS = models.Q(status__in=["new", "open", "pending"])


class TicketIndex(models.Model):
    """One row per ticket of every site, in the public schema: what the engineers' cross-site
    queue reads (one indexed query, whatever the number of sites). Written by the ticket services
    in the same transaction as the ticket change (same database), so it is never stale; rebuilt or
    checked from the tenant schemas by `manage.py ticket_index`."""

    client = models.ForeignKey("tenancy.Client", on_delete=models.CASCADE, related_name="ticket_index")
    ticket_pk = models.BigIntegerField()
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=10)
    priority = models.CharField(max_length=8, blank=True)
    category_slug = models.CharField(max_length=50, blank=True)
    requester_id = models.BigIntegerField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ticketindex_assigned"
    )
    sla_due = models.DateTimeField(null=True, blank=True, help_text="The next SLA target, if any.")
    sla_breached = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "ticket_pk"], name="ticket_index_one_row_per_ticket")]
        indexes = [
            models.Index(fields=["assignee", "status", "sla_due"], name="ticket_index_mine"),
            models.Index(fields=["client", "status", "sla_due"], name="ticket_index_site"),
            models.Index(fields=["status", "sla_due"], name="ticket_index_due"),
            # The queue reads open tickets only: small partial indexes over just those rows
            # (measured at 1,000 sites x 100 tickets, docs/benchmarks.md).
            models.Index(fields=["sla_due"], name="ticket_index_open_due", condition=OPEN_ROWS),
            models.Index(fields=["assignee", "sla_due"], name="ticket_index_open_mine", condition=OPEN_ROWS),
            # Covering: the queue's tab counts (every open row of the covered sites) come from
            # this small index alone (an index-only scan), not from ~1,300 heap pages at 1,000 sites.
            models.Index(
                fields=["client", "sla_due"],
                include=["assignee", "sla_breached", "status", "priority", "category_slug"],
                name="ticket_index_open_site",
                condition=OPEN_ROWS,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.number}"


class TimeEntryIndex(models.Model):
    """Every engineer's time entries of every site, in the public schema, for "My time" (one
    query per week whatever the number of sites) and for the monthly invoice run (a handful of
    queries per site, no schema visited). Written with the entry, in its transaction.
    `invoice_line` is set when the entry is billed: the entry is then locked (tickets services)."""

    client = models.ForeignKey("tenancy.Client", on_delete=models.CASCADE, related_name="time_index")
    entry_pk = models.BigIntegerField()
    engineer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_index")
    ticket_number = models.PositiveIntegerField()
    ticket_subject = models.CharField(max_length=200)
    minutes = models.PositiveIntegerField()
    billable = models.BooleanField()
    note = models.CharField(max_length=300, blank=True)
    work_date = models.DateField()
    invoice_line = models.ForeignKey(
        "billing.InvoiceLine", null=True, blank=True, on_delete=models.PROTECT, related_name="time_entries"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "entry_pk"], name="time_index_one_row_per_entry")]
        indexes = [
            models.Index(fields=["engineer", "work_date"], name="time_index_engineer_week"),
            # The invoice run reads each site's billable entries not billed yet.
            models.Index(
                fields=["client", "work_date"],
                name="time_index_unbilled",
                condition=models.Q(billable=True, invoice_line__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min by {self.engineer_id} on {self.work_date}"
