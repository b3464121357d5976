"""Plans, each site's subscription, what it uses, and its monthly invoices (public schema).

Money is `Decimal` everywhere and rounded once, on the line amount (billing/invoicing.py).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class Plan(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=40, unique=True)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="EUR")
    seats = models.PositiveIntegerField(default=25, help_text="Client users allowed on the site.")
    included_hours = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal("0.00"), help_text="Engineer hours per month in the fee."
    )
    hourly_rate = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.00"), help_text="Per billable hour beyond the included."
    )
    ai_token_quota = models.PositiveBigIntegerField(
        default=500_000, help_text="AI tokens a site may use per month with external providers."
    )
    ai_overage_per_1k = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("0.0000"), help_text="Per 1,000 tokens beyond the quota."
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["monthly_fee", "name"]

    def __str__(self) -> str:
        return self.name


class UsageRecord(models.Model):
    """Tokens a site used with one provider and model in one month (first day of the month)."""

    client = models.ForeignKey("tenancy.Client", on_delete=models.CASCADE, related_name="usage_records")
    month = models.DateField(help_text="First day of the month.")
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=80, blank=True)
    calls = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "month", "provider", "model"], name="usage_unique_month_model")
        ]
        indexes = [models.Index(fields=["client", "month"], name="usage_client_month")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.month:%Y-%m} {self.provider}/{self.model}: {self.tokens}"

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class Subscription(models.Model):
    """One per site. `plan` is the current plan (mirrored on `Client.plan`); the plan of any past
    day comes from `SubscriptionChange`, so an old invoice can be reconstructed."""

    class Status(models.TextChoices):
        TRIAL = "trial", "Trial"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELLED = "cancelled", "Cancelled"

    client = models.OneToOneField("tenancy.Client", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_on = models.DateField(default=timezone.localdate)
    trial_ends_on = models.DateField(null=True, blank=True, help_text="Days before this date are not charged.")
    cancelled_on = models.DateField(null=True, blank=True, help_text="Not charged from this day on.")
    billing_email = models.EmailField(blank=True, help_text="Invoices and reminders; empty: the site's admins.")
    suspended_for_nonpayment = models.BooleanField(
        default=False, help_text="Set when dunning suspended the site, so paying reactivates only that."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name"]

    def __str__(self) -> str:
        return f"{self.client} on {self.plan}"


class SubscriptionChange(models.Model):
    """The plan from `effective_on` on (inclusive). The first row is the subscription's start."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="changes")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    effective_on = models.DateField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["effective_on", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "effective_on"], name="subscription_change_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.plan} from {self.effective_on}"


class InvoiceCounter(models.Model):
    """Last invoice number issued per year; its row is locked while a number is taken, so the
    numbers have no gaps and no duplicates (a rolled-back invoice rolls its number back too)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Invoice(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"

    client = models.ForeignKey("tenancy.Client", on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=20, unique=True)
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    period_start = models.DateField(help_text="First day of the invoiced month.")
    period_end = models.DateField(help_text="Last day of the invoiced month.")
    issued_on = models.DateField()
    due_on = models.DateField()
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    billing_email = models.EmailField(blank=True)
    site_name = models.CharField(max_length=100, help_text="The site's name when the invoice was issued.")
    paid_on = models.DateField(null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reminder_7_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_14_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period_start", "-sequence"]
        constraints = [
            # Re-running a month never duplicates an invoice, even with two runs at once.
            models.UniqueConstraint(fields=["client", "period_start"], name="invoice_one_per_site_and_month"),
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_number_unique_per_year"),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="invoice_status_due")]

    def __str__(self) -> str:
        return self.number

    def is_overdue_on(self, day) -> bool:
        return self.status == self.Status.OPEN and day > self.due_on


class InvoiceLine(models.Model):
    """amount = quantity x unit_price / divisor, rounded half up to the cent (once, here only):
    plan fee: days x monthly fee / days in the month; time: minutes x hourly rate / 60;
    AI: tokens x price per 1,000 / 1,000."""

    class Kind(models.TextChoices):
        PLAN = "plan", "Plan fee"
        TIME = "time", "Engineer time"
        AI = "ai", "AI usage"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    description = models.CharField(max_length=200)
    detail = models.CharField(max_length=300, blank=True, help_text="How the quantity was worked out.")
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    quantity = models.DecimalField(max_digits=14, decimal_places=0)
    unit = models.CharField(max_length=12, help_text="days, min, tokens")
    unit_price = models.DecimalField(max_digits=10, decimal_places=4)
    price_per = models.CharField(max_length=20, help_text="month, h, 1,000 tokens")
    divisor = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position")]

    def __str__(self) -> str:
        return f"{self.invoice_id}/{self.position}: {self.description}"
