from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django_prose_editor.fields import ProseEditorFormField

from tenant_apps.tickets.models import Category, Priority, Ticket
from tenant_apps.tickets.richtext import MAX_LENGTH

_BODY = {"rows": 6, "maxlength": MAX_LENGTH}

# What the editor offers; the same tags are what richtext.sanitize_html keeps on save.
EDITOR_EXTENSIONS = {
    "Bold": True,
    "Italic": True,
    "Strike": True,
    "Underline": True,
    "Code": True,
    "CodeBlock": True,
    "Heading": {"levels": [2, 3, 4]},
    "BulletList": True,
    "OrderedList": True,
    "ListItem": True,
    "Blockquote": True,
    "HorizontalRule": True,
    "HardBreak": True,
    "Link": {"enableTarget": False},
}


def rich_text_field(**kwargs) -> ProseEditorFormField:
    """django-prose-editor: a textarea that the browser upgrades to an editor (plain textarea
    without JavaScript). Sanitizing is the services' job (richtext.py), not the form's."""
    return ProseEditorFormField(extensions=EDITOR_EXTENSIONS, max_length=MAX_LENGTH, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; type and size are checked by the service (attachments.py)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


def _categories():
    return Category.objects.filter(is_active=True)


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=200)
    description = rich_text_field()
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, empty_label="Not sure (we will sort it)"
    )
    priority = forms.ChoiceField(choices=[("", "Not sure (we will sort it)"), *Priority.choices], required=False)
    attachments = MultipleFileField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories()
        self.fields["attachments"].help_text = (
            f"Up to {settings.ATTACHMENT_MAX_FILES} files of {filesizeformat(settings.ATTACHMENT_MAX_BYTES)} each: "
            "images, PDF, Office documents, ZIP or plain text."
        )


class ReplyForm(forms.Form):
    body = rich_text_field(label="Your reply")
    attachments = MultipleFileField()
    internal = forms.BooleanField(required=False, label="Internal note (engineers only, never shown to the client)")
    ai_draft = forms.IntegerField(required=False, widget=forms.HiddenInput)  # the AI draft this reply started from


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Ticket.Status.choices)
    note = forms.CharField(required=False, max_length=300)


class TicketUpdateForm(forms.Form):
    priority = forms.ChoiceField(choices=[("", "Not set"), *Priority.choices], required=False)
    category = forms.ModelChoiceField(queryset=Category.objects.none(), required=False, empty_label="Not set")
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args, engineers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories()
        self.fields["assignee"].choices = [("", "Unassigned"), *((str(e.pk), e.display_name) for e in engineers)]


class TimeEntryForm(forms.Form):
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60)
    billable = forms.BooleanField(required=False, initial=True)
    note = forms.CharField(required=False, max_length=300)


class ShareForm(forms.Form):
    email = forms.EmailField(label="Colleague's email")


class MergeForm(forms.Form):
    into = forms.IntegerField(label="Duplicate of ticket number", min_value=1)


SLA_UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
SLA_UNIT_CHOICES = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]


def sla_amount_split(minutes: int) -> tuple[int, str]:
    """The largest unit that shows a target as a whole number: 240 -> (4, "hours")."""
    for unit in ("days", "hours"):
        if minutes % SLA_UNITS[unit] == 0:
            return minutes // SLA_UNITS[unit], unit
    return minutes, "minutes"


def _amount_text(minutes: int) -> str:
    amount, unit = sla_amount_split(minutes)
    return f"{amount} {unit[:-1] if amount == 1 else unit}"


class SLATargetForm(forms.Form):
    """One priority's two targets, each a whole number and a unit (stored in minutes). The page
    has one per priority, prefixed with it; the bounds are the service's to check
    (`sla_policy_update`)."""

    first_response = forms.IntegerField(label="First response within", min_value=1, max_value=999_999)
    first_response_unit = forms.ChoiceField(choices=SLA_UNIT_CHOICES)
    resolution = forms.IntegerField(label="Resolution within", min_value=1, max_value=999_999)
    resolution_unit = forms.ChoiceField(choices=SLA_UNIT_CHOICES)

    # The service's field names, mapped to the inputs they come from.
    SERVICE_FIELDS = {"first_response_minutes": "first_response", "resolution_minutes": "resolution"}

    @classmethod
    def for_policy(cls, policy, data=None) -> "SLATargetForm":
        first, first_unit = sla_amount_split(policy.first_response_minutes)
        resolution, resolution_unit = sla_amount_split(policy.resolution_minutes)
        initial = {
            "first_response": first,
            "first_response_unit": first_unit,
            "resolution": resolution,
            "resolution_unit": resolution_unit,
        }
        form = cls(data, initial=initial, prefix=policy.priority)
        form.saved = (
            f"first response within {_amount_text(policy.first_response_minutes)}, "
            f"resolution within {_amount_text(policy.resolution_minutes)}"
        )
        return form

    def minutes(self) -> dict[str, int]:
        data = self.cleaned_data
        return {
            "first_response_minutes": data["first_response"] * SLA_UNITS[data["first_response_unit"]],
            "resolution_minutes": data["resolution"] * SLA_UNITS[data["resolution_unit"]],
        }

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages in error.message_dict.items():
            self.add_error(self.SERVICE_FIELDS.get(field), messages)
