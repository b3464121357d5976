from django.contrib import messages
from django.shortcuts import redirect, render

from tenant_apps.profiles.forms import NotificationForm
from tenant_apps.profiles.models import NotificationKind
from tenant_apps.profiles.selectors import profile_for
from tenant_apps.profiles.services import notification_preferences_set


def notification_settings(request):
    profile = profile_for(user=request.user)
    enabled = [kind for kind in NotificationKind.values if kind not in profile.notifications_off]
    form = NotificationForm(request.POST or None, initial={"enabled": enabled})
    if request.method == "POST" and form.is_valid():
        notification_preferences_set(user=request.user, enabled=form.cleaned_data["enabled"])
        messages.success(request, "Email preferences saved.")
        return redirect("notification_settings")
    return render(request, "profiles/notifications.html", {"form": form})
