from django import forms
from django.core.validators import MinValueValidator
from django.utils import timezone

from shared_apps.billing.models import Plan, Subscription
from shared_apps.billing.services import PLAN_FIELDS


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = PLAN_FIELDS
        labels = {
            "monthly_fee": "Monthly fee",
            "included_hours": "Engineer hours included per month",
            "hourly_rate": "Hourly rate beyond them",
            "ai_token_quota": "AI tokens included per month",
            "ai_overage_per_1k": "Price per 1,000 AI tokens beyond them",
            "is_default": "Default plan for new sites",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Prices and hours below zero would turn invoice lines into credits.
        for name in ("monthly_fee", "included_hours", "hourly_rate", "ai_overage_per_1k"):
            self.fields[name].validators.append(MinValueValidator(0))
            self.fields[name].widget.attrs["min"] = "0"
        # 0 seats is not "unlimited": seats.py would refuse every user, even the first admin
        # that provisioning invites, so a site on such a plan could never be used.
        seats = self.fields["seats"]
        seats.validators = [v for v in seats.validators if not isinstance(v, MinValueValidator)]  # one message
        seats.validators.append(
            MinValueValidator(1, message="A plan needs at least 1 seat (its first client admin takes one).")
        )
        seats.widget.attrs["min"] = "1"

    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("Use a three-letter ISO 4217 code, such as EUR or USD.")
        return currency


class DateInput(forms.DateInput):
    """The browser's date picker, which takes ISO dates only (not the locale's 11/21/2026)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = ["status", "billing_email", "trial_ends_on", "cancelled_on"]
        widgets = {"trial_ends_on": DateInput(), "cancelled_on": DateInput()}


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), empty_label=None)
    effective_on = forms.DateField(
        widget=DateInput(), help_text="From this day on (mid-month: that month is billed pro rata)."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_on"].initial = timezone.localdate()


class MarkPaidForm(forms.Form):
    paid_on = forms.DateField(required=False, widget=DateInput(), help_text="Empty: today.")

    def clean_paid_on(self):
        paid_on = self.cleaned_data["paid_on"]
        if paid_on and paid_on > timezone.localdate():
            raise forms.ValidationError(f"{paid_on:%d %b %Y} is in the future: record a payment once it has arrived.")
        return paid_on
