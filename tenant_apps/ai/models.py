"""Per-site AI settings (providers, results and quotas arrive with the AI issue)."""

from django.db import models


class AISettings(models.Model):
    """One row per site."""

    keep_data_offline = models.BooleanField(
        default=False, help_text="Never send this site's data to an external AI provider."
    )

    class Meta:
        verbose_name = "AI settings"
        verbose_name_plural = "AI settings"

    def __str__(self) -> str:
        return "AI settings"
