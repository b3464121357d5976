from datetime import timedelta

from django import forms
from django.utils import timezone

from shared_apps.publishing.models import Announcement, ArticleStatus, Visibility
from shared_apps.tenancy.models import Client
from tenant_apps.tickets.forms import rich_text_field
from tenant_apps.tickets.models import DEFAULT_CATEGORIES


class GlobalArticleForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = rich_text_field(label="Article")
    category_slug = forms.ChoiceField(
        choices=[("", "No category"), *DEFAULT_CATEGORIES], required=False, label="Category"
    )
    visibility = forms.ChoiceField(choices=Visibility.choices, label="Who can read it")
    status = forms.ChoiceField(
        choices=ArticleStatus.choices, initial=ArticleStatus.DRAFT, help_text="Published: shown on every site at once."
    )


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        kwargs.setdefault("attrs", {"class": "form-control"})
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class AnnouncementForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = rich_text_field(label="Details", required=False)
    severity = forms.ChoiceField(choices=Announcement.Severity.choices)
    starts_at = forms.DateTimeField(widget=DateTimeLocalInput(), label="Shown from")
    ends_at = forms.DateTimeField(widget=DateTimeLocalInput(), label="Shown until")
    all_sites = forms.BooleanField(required=False, label="Every site")
    sites = forms.ModelMultipleChoiceField(
        queryset=Client.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = targets.sites.order_by("name")
        if not targets.all_sites:
            del self.fields["all_sites"]
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["starts_at"].initial = now
        self.fields["ends_at"].initial = now + timedelta(hours=4)

    def text_fields(self):
        return [self[name] for name in ("title", "body", "severity")]
