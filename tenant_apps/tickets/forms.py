from django import forms

from tenant_apps.tickets.models import Category, Priority, Ticket
from tenant_apps.tickets.richtext import MAX_LENGTH

_BODY = {"rows": 6, "maxlength": MAX_LENGTH}


def _categories():
    return Category.objects.filter(is_active=True)


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs=_BODY), max_length=MAX_LENGTH)
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, empty_label="Not sure (we will sort it)"
    )
    priority = forms.ChoiceField(choices=[("", "Not sure (we will sort it)"), *Priority.choices], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories()


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs=_BODY), max_length=MAX_LENGTH)
    internal = forms.BooleanField(required=False, label="Internal note (engineers only, never shown to the client)")


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
