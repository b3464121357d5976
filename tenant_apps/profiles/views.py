"""The person's own profile on this site, and avatars (served only to people of the site)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenant_apps.profiles.forms import AvatarForm, NotificationForm, ProfileForm
from tenant_apps.profiles.models import NotificationKind
from tenant_apps.profiles.phone import phone_display
from tenant_apps.profiles.selectors import avatar_get, profile_for
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
    context = {"form": form, "avatar_form": avatar_form or AvatarForm(), "profile": profile}
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
            avatar_set(user=request.user, upload=avatar_form.cleaned_data["avatar"])
        except ValidationError as error:
            _add_errors(avatar_form, error)
        else:
            messages.success(request, "Picture saved.")
            return redirect("profile")
    return _page(request, avatar_form=avatar_form, status=400)


@require_POST
def profile_avatar_remove(request):
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
    try:
        handle = profile.avatar.open("rb")
    except FileNotFoundError:
        raise Http404("No picture") from None
    response = FileResponse(handle, content_type="image/webp")
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # The URL carries ?v=<avatar_version>, so a new picture is a new URL.
    response["Cache-Control"] = "private, max-age=86400"
    return response


def notification_settings(request):
    profile = profile_for(user=request.user)
    enabled = [kind for kind in NotificationKind.values if kind not in profile.notifications_off]
    form = NotificationForm(request.POST or None, initial={"enabled": enabled})
    if request.method == "POST" and form.is_valid():
        notification_preferences_set(user=request.user, enabled=form.cleaned_data["enabled"])
        messages.success(request, "Email preferences saved.")
        return redirect("notification_settings")
    return render(request, "profiles/notifications.html", {"form": form})
