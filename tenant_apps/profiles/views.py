"""The person's own profile on this site, and avatars (served only to people of the site).

An engineer covering the site edits their one picture for every site here (there is no
engineers' settings page on the root domain); everyone else edits their picture on this site.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from shared_apps.engineers.services import engineer_avatar_remove, engineer_avatar_set
from shared_apps.tenancy.selectors import ROLE_ENGINEER
from tenant_apps.profiles.avatars import avatar_response
from tenant_apps.profiles.forms import AvatarForm, NotificationForm, ProfileForm
from tenant_apps.profiles.models import NotificationKind
from tenant_apps.profiles.phone import phone_display
from tenant_apps.profiles.selectors import avatar_get, person_card, profile_for
from tenant_apps.profiles.services import avatar_remove, avatar_set, notification_preferences_set, profile_update


def _add_errors(form, error: ValidationError) -> None:
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _page(request, *, form=None, avatar_form=None, status=200):
    profile = profile_for(user=request.user)
    form = form or ProfileForm(
        initial={
            "full_name": request.user.full_name,
            "job_title": profile.job_title,
            "phone": phone_display(profile.phone),
            "timezone": profile.timezone,
        }
    )
    context = {
        "form": form,
        "avatar_form": avatar_form or AvatarForm(),
        "profile": profile,
        "picture_shared": request.role == ROLE_ENGINEER,
        "has_picture": bool(person_card(user_id=request.user.pk).avatar_version),
    }
    return render(request, "profiles/profile.html", context, status=status)


def profile_edit(request):
    if request.method != "POST":
        return _page(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            profile_update(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Profile saved.")
            return redirect("profile")
    return _page(request, form=form, status=400)


@require_POST
def profile_avatar(request):
    avatar_form = AvatarForm(request.POST, request.FILES)
    if avatar_form.is_valid():
        try:
            upload = avatar_form.cleaned_data["avatar"]
            if request.role == ROLE_ENGINEER:
                engineer_avatar_set(user=request.user, upload=upload)
            else:
                avatar_set(user=request.user, upload=upload)
        except ValidationError as error:
            _add_errors(avatar_form, error)
        else:
            messages.success(request, "Picture saved.")
            return redirect("profile")
    return _page(request, avatar_form=avatar_form, status=400)


@require_POST
def profile_avatar_remove(request):
    if request.role == ROLE_ENGINEER:
        engineer_avatar_remove(user=request.user)
    else:
        avatar_remove(user=request.user)
    messages.success(request, "Picture removed.")
    return redirect("profile")


@require_GET
def person_avatar(request, user_id: int):
    """Anyone who may use this site (members and covering engineers: the tenant-access middleware
    has checked) sees the avatars of its people; nobody else reaches this view."""
    profile = avatar_get(user_id=user_id)
    if profile is None:
        raise Http404("No picture")
    return avatar_response(profile.avatar)


def notification_settings(request):
    profile = profile_for(user=request.user)
    enabled = [kind for kind in NotificationKind.values if kind not in profile.notifications_off]
    form = NotificationForm(request.POST or None, initial={"enabled": enabled})
    if request.method == "POST" and form.is_valid():
        notification_preferences_set(user=request.user, enabled=form.cleaned_data["enabled"])
        messages.success(request, "Email preferences saved.")
        return redirect("notification_settings")
    return render(request, "profiles/notifications.html", {"form": form})
