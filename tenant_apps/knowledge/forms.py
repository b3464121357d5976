from django import forms

from shared_apps.publishing.models import ArticleStatus, Visibility
from tenant_apps.tickets.forms import rich_text_field
from tenant_apps.tickets.models import Category


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = rich_text_field(label="Article")
    category = forms.ModelChoiceField(queryset=Category.objects.none(), required=False, empty_label="No category")
    visibility = forms.ChoiceField(choices=Visibility.choices, label="Who can read it")
    status = forms.ChoiceField(choices=ArticleStatus.choices, initial=ArticleStatus.DRAFT)

    def __init__(self, *args, engineer: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        if not engineer:  # client admins write for everyone on their site (services.py)
            del self.fields["visibility"]


class VoteForm(forms.Form):
    helpful = forms.ChoiceField(choices=[("yes", "Yes"), ("no", "No")])

    @property
    def is_helpful(self) -> bool:
        return self.cleaned_data["helpful"] == "yes"


class LinkForm(forms.Form):
    article = forms.CharField(max_length=300, label="Article address or slug")
