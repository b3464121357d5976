"""Per-site AI settings, the record of every AI call, and engineers' corrections (tenant schema)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AISettings(models.Model):
    """One row per site (pk=1), edited by platform admins in the console."""

    class Provider(models.TextChoices):
        DEFAULT = "", "Platform default"
        OFFLINE = "offline", "Offline model"
        OPENAI = "openai", "OpenAI / OpenAI-compatible"
        GEMINI = "gemini", "Google Gemini"

    provider = models.CharField(max_length=10, choices=Provider.choices, blank=True, default="")
    model = models.CharField(max_length=80, blank=True, help_text="Empty: the provider's default model.")
    keep_data_offline = models.BooleanField(
        default=False, help_text="Never send this site's data to an external AI provider."
    )

    class Meta:
        verbose_name = "AI settings"
        verbose_name_plural = "AI settings"

    def __str__(self) -> str:
        return "AI settings"


class AIResult(models.Model):
    """One AI job on a ticket: what was asked, who answered, what it cost and what came out."""

    class Kind(models.TextChoices):
        CATEGORIZE = "categorize", "Categorization"
        DRAFT = "draft", "Reply draft"
        ASSISTANT = "assistant", "Assistant answer"

    class State(models.TextChoices):
        PENDING = "pending", "Working"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="ai_results")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    provider = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=80, blank=True)
    fallback_reason = models.CharField(
        max_length=200, blank=True, help_text="Why the offline model answered instead of the configured one."
    )
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    confidence = models.FloatField(null=True, blank=True)
    category_slug = models.CharField(max_length=50, blank=True)
    priority = models.CharField(max_length=8, blank=True)
    summary = models.CharField(max_length=200, blank=True)
    output = models.TextField(blank=True, help_text="Sanitized draft / answer HTML.")
    sources = models.JSONField(default=list, blank=True, help_text="[{title, url, source}] the answer used.")
    raw_output = models.TextField(blank=True, help_text="The provider's raw answer (first 20,000 chars), for audit.")
    error = models.CharField(max_length=300, blank=True)
    reviewed = models.CharField(max_length=10, blank=True, help_text="accepted | corrected, for categorizations.")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["ticket", "kind", "-created_at"], name="airesult_ticket_kind")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.provider}/{self.model})"

    @property
    def is_fallback(self) -> bool:
        return bool(self.fallback_reason)

    @property
    def confidence_percent(self) -> int | None:
        return None if self.confidence is None else round(self.confidence * 100)


class AICorrection(models.Model):
    """An engineer's verdict on a categorization; confirmed labels retrain the site's offline model."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="ai_corrections")
    result = models.ForeignKey(AIResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections")
    predicted_category = models.CharField(max_length=50, blank=True)
    predicted_priority = models.CharField(max_length=8, blank=True)
    category_slug = models.CharField(max_length=50)
    priority = models.CharField(max_length=8)
    accepted = models.BooleanField(help_text="True when the engineer confirmed the AI's answer as is.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id}: {self.category_slug}/{self.priority}"
