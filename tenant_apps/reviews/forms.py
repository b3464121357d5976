from django import forms

from tenant_apps.reviews.services import COMMENT_MAX

RATING_CHOICES = [(5, "5 Excellent"), (4, "4 Good"), (3, "3 Fair"), (2, "2 Poor"), (1, "1 Bad")]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect, label="Rating")
    comment = forms.CharField(
        label="Comment (optional)", required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class ServiceReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect, label="Overall rating"
    )
    body = forms.CharField(
        label="How was our service this quarter?", max_length=5000, widget=forms.Textarea(attrs={"rows": 6})
    )
