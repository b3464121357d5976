from django import forms

from shared_apps.engineers.models import EngineerProfile
from shared_apps.tenancy.selectors import client_sites_queryset
from tenant_apps.tickets.models import DEFAULT_CATEGORIES


class EngineerInviteForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Name")
    email = forms.EmailField()


CHECK = {"class": "form-check-input"}  # Bootstrap's box, beside its label in a .form-check


class EngineerProfileForm(forms.ModelForm):
    skills = forms.MultipleChoiceField(
        choices=DEFAULT_CATEGORIES,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs=CHECK),
        help_text="Categories.",
    )
    sites = forms.ModelMultipleChoiceField(
        queryset=client_sites_queryset().order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs=CHECK),
        help_text="Ignored when the engineer covers all sites.",
    )
    release_tickets = forms.BooleanField(
        required=False,
        label="Hand their open tickets back to the pool (when setting them away)",
        widget=forms.CheckboxInput(attrs=CHECK),
    )

    class Meta:
        model = EngineerProfile
        fields = ["skills", "covers_all_sites", "sites", "capacity", "is_available", "away_until"]
        widgets = {
            "away_until": forms.DateInput(attrs={"type": "date"}),
            "covers_all_sites": forms.CheckboxInput(attrs=CHECK),
            "is_available": forms.CheckboxInput(attrs=CHECK),
        }
        labels = {"is_available": "Available", "away_until": "Away until (inclusive)"}
