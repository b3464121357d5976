"""Platform console (root domain): a site's AI settings and what its AI did this month."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.billing.metering import month_start
from shared_apps.billing.models import UsageRecord
from shared_apps.tenancy.selectors import client_sites_queryset
from shared_apps.tenancy.views import platform_admin_required
from tenant_apps.ai.models import AICorrection, AIResult, AISettings
from tenant_apps.ai.services import ai_settings_get, ai_settings_update, configured_provider, route_for


class AISettingsForm(forms.Form):
    provider = forms.ChoiceField(choices=AISettings.Provider.choices, required=False)
    model = forms.CharField(required=False, max_length=80, help_text="Empty: the provider's default model.")
    keep_data_offline = forms.BooleanField(required=False, label="Never send this site's data to external providers")


def _stats(since: dt.date) -> dict:
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    rows = (
        AIResult.objects.filter(created_at__gte=start, state=AIResult.State.DONE)
        .values("kind", "provider")
        .annotate(calls=Count("pk"), fallbacks=Count("pk", filter=~Q(fallback_reason="")))
        .order_by("kind", "provider")
    )
    reviews = AICorrection.objects.filter(created_at__gte=start).aggregate(
        n_accepted=Count("pk", filter=Q(accepted=True)), n_corrected=Count("pk", filter=Q(accepted=False))
    )
    reviews = {"accepted": reviews["n_accepted"], "corrected": reviews["n_corrected"]}
    reviewed = reviews["accepted"] + reviews["corrected"]
    return {
        "rows": list(rows),
        "accepted": reviews["accepted"],
        "corrected": reviews["corrected"],
        "accepted_share": round(100 * reviews["accepted"] / reviewed) if reviewed else None,
        "reasons": list(
            AIResult.objects.filter(created_at__gte=start)
            .exclude(fallback_reason="")
            .values("fallback_reason")
            .annotate(n=Count("pk"))
            .order_by("-n")[:5]
        ),  # fmt: skip
    }


@platform_admin_required
def console_site_ai(request, subdomain: str):
    site = client_sites_queryset().select_related("plan").filter(subdomain=subdomain).first()
    if site is None:
        raise Http404
    since = month_start()
    with tenant_context(site):
        ai = ai_settings_get()
        form = AISettingsForm(
            request.POST or None,
            initial={"provider": ai.provider, "model": ai.model, "keep_data_offline": ai.keep_data_offline},
        )
        if request.method == "POST" and form.is_valid():
            ai_settings_update(actor=request.user, **form.cleaned_data)
            messages.success(request, f"AI settings of {site.name} saved.")
            return redirect("console_site_ai", subdomain=subdomain)
        context = {
            "site": site,
            "form": form,
            "configured": configured_provider(ai),
            "route": route_for(ai),
            "stats": _stats(since),
        }
    usage = UsageRecord.objects.filter(client=site, month=since).order_by("provider", "model")
    context["usage"] = usage
    context["external_tokens"] = sum(row.tokens for row in usage if row.provider != "offline")
    context["month"] = since
    return render(request, "ai/console_site.html", context)
