"""Pages about sites: the root home, the platform console, a site's team, invitations."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from shared_apps.accounts.selectors import account_exists
from shared_apps.billing.selectors import site_suspension_for
from shared_apps.tenancy import selectors, services
from shared_apps.tenancy.archive.exports import site_export_list, site_export_path
from shared_apps.tenancy.forms import (
    InvitationAcceptForm,
    InviteForm,
    SignupSettingsForm,
    SiteCreateForm,
    SiteDeleteForm,
)
from shared_apps.tenancy.links import site_url
from shared_apps.tenancy.middleware import not_found
from shared_apps.tenancy.provisioning import provision_site
from shared_apps.tenancy.selectors import ROLE_CLIENT_ADMIN, ROLE_PLATFORM, ROLE_STAFF


@require_GET
def healthz(request):
    # No query: the host was resolved from the cache by the tenant middleware.
    return JsonResponse({"status": "ok", "schema": connection.schema_name})


def _add_form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def platform_admin_required(view):
    """Root-domain console pages: login first, then 404 for anyone but a platform admin (checked
    before the HTTP method, so the console's shape is invisible to others)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.role != ROLE_PLATFORM:
            return not_found(request)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def client_admin_required(view):
    """Client-site pages for the site's client admins; other members get 403 (they know the site)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.role != ROLE_CLIENT_ADMIN:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


# --- root domain ---------------------------------------------------------------------------


def home(request):
    if not request.user.is_authenticated:
        return render(request, "public/landing.html")
    sites = [(site, site_url(site)) for site in selectors.sites_of(user=request.user)]
    return render(request, "public/home.html", {"sites": sites})


@platform_admin_required
def console_sites(request):
    form = SiteCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            site = provision_site(**form.cleaned_data, invited_by=request.user)
        except ValidationError as error:
            _add_form_errors(form, error)
        else:
            messages.success(
                request,
                f"{site.name} is ready at {site_url(site)}. An invitation went to {form.cleaned_data['admin_email']}.",
            )
            return redirect("console_sites")
    sites = selectors.site_list_for(user=request.user).prefetch_related("domains")
    return render(request, "console/sites.html", {"sites": sites, "form": form})


@platform_admin_required
@require_GET
def console_site_detail(request, subdomain: str):
    """One site for the platform admin: its address (as text: the site itself is its people's, a
    platform admin has no access to its data there), figures, why it is suspended, and actions."""
    site = selectors.site_list_for(user=request.user).select_related("plan").filter(subdomain=subdomain).first()
    if site is None:
        return not_found(request)
    context = {"target": site, "address": site_url(site), "suspension": site_suspension_for(client=site)}
    return render(request, "console/site_detail.html", context)


@platform_admin_required
def console_site_suspend(request, subdomain: str):
    """GET asks first (what happens, how to undo it); only the POST from that page suspends."""
    site = selectors.site_get_for(user=request.user, subdomain=subdomain)
    if site is None:
        return not_found(request)
    if site.is_suspended:
        messages.info(request, f"{site.name} is suspended already.")
        return redirect("console_sites")
    if request.method == "POST":
        services.site_suspend(client=site, by=request.user)
        messages.success(
            request, f"{site.name} is suspended. Its users now see a 'suspended' page; nothing was deleted."
        )
        return redirect("console_sites")
    return render(request, "console/site_suspend.html", {"target": site, "address": site_url(site)})


@platform_admin_required
@require_POST
def console_site_reactivate(request, subdomain: str):
    site = selectors.site_get_for(user=request.user, subdomain=subdomain)
    if site is None:
        return not_found(request)
    services.site_reactivate(client=site, by=request.user)
    messages.success(request, f"{site.name} is active again.")
    return redirect("console_sites")


@platform_admin_required
def console_site_export(request, subdomain: str):
    """The site's export archives; POST queues a new one (written by a worker, see docs/operations.md)."""
    site = selectors.site_get_for(user=request.user, subdomain=subdomain)
    if site is None:
        return not_found(request)
    if request.method == "POST":
        services.site_export_request(client=site, by=request.user)
        messages.success(request, f"Export of {site.name} started. It is listed below when it is ready.")
        return redirect("console_site_export", subdomain=site.subdomain)
    return render(request, "console/site_export.html", {"target": site, "exports": site_export_list(client=site)})


@platform_admin_required
@require_GET
def console_site_export_download(request, subdomain: str, name: str):
    site = selectors.site_get_for(user=request.user, subdomain=subdomain)
    path = site_export_path(client=site, name=name) if site else None
    if path is None:
        return not_found(request)
    # Streamed from disk in blocks, whatever the archive's size.
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="application/zip")


@platform_admin_required
def console_site_delete(request, subdomain: str):
    site = selectors.site_get_for(user=request.user, subdomain=subdomain)
    if site is None:
        return not_found(request)
    form = SiteDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.site_delete(client=site, by=request.user, confirmation=form.cleaned_data["confirmation"])
        except ValidationError as error:
            form.add_error("confirmation", error.messages)
        else:
            messages.success(request, f"{site.name} and all of its data were deleted.")
            return redirect("console_sites")
    exports = [export for export in site_export_list(client=site) if export.ready]
    context = {"target": site, "form": form, "last_export": exports[0] if exports else None}
    return render(request, "console/site_delete.html", context)


# --- client site ---------------------------------------------------------------------------


def site_home(request):
    return render(request, "site/home.html")


@client_admin_required
def team(request):
    site = request.tenant
    invite_form = InviteForm(request.POST or None, prefix="invite")
    if request.method == "POST" and invite_form.is_valid():
        try:
            invitation = services.invitation_create(
                client=site,
                email=invite_form.cleaned_data["email"],
                role=invite_form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationError as error:
            _add_form_errors(invite_form, error)
        else:
            if invitation.replaced_pending:
                note = f"A new invitation link was sent to {invitation.email}; the earlier one no longer works."
            else:
                note = f"Invitation sent to {invitation.email}."
            messages.success(request, note)
            return redirect("team")
    signup_form = SignupSettingsForm(
        initial={"allow_signup": site.allow_signup, "signup_domains": ", ".join(site.signup_domains)}, prefix="signup"
    )
    return render(
        request,
        "site/team.html",
        {
            "members": selectors.member_list_for(user=request.user, client=site),
            "invitations": selectors.invitation_pending_list_for(user=request.user, client=site),
            "invite_form": invite_form,
            "signup_form": signup_form,
        },
        status=400 if invite_form.errors else 200,
    )


@client_admin_required
@require_POST
def team_signup_settings(request):
    form = SignupSettingsForm(request.POST, prefix="signup")
    if form.is_valid():
        services.site_signup_settings_update(
            client=request.tenant,
            allow_signup=form.cleaned_data["allow_signup"],
            signup_domains=form.cleaned_data["signup_domains"],
        )
        messages.success(request, "Sign-up settings saved.")
    else:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect("team")


@client_admin_required
@require_POST
def team_member_deactivate(request, membership_id: int):
    membership = get_object_or_404(
        selectors.member_list_for(user=request.user, client=request.tenant), pk=membership_id
    )
    try:
        services.membership_deactivate(membership=membership, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.email} can no longer use this site.")
    return redirect("team")


@client_admin_required
@require_POST
def team_member_reactivate(request, membership_id: int):
    membership = get_object_or_404(
        selectors.member_list_for(user=request.user, client=request.tenant), pk=membership_id
    )
    try:
        services.membership_reactivate(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.email} can use this site again.")
    return redirect("team")


@client_admin_required
@require_POST
def team_invitation_cancel(request, invitation_id: int):
    invitation = get_object_or_404(
        selectors.invitation_pending_list_for(user=request.user, client=request.tenant), pk=invitation_id
    )
    try:
        services.invitation_cancel(invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        note = f"The invitation to {invitation.email} is cancelled: its link no longer works and its seat is free."
        messages.success(request, note)
    return redirect("team")


def invitation_accept(request, token: str):
    """Three cases: logged in (confirm and join), an existing account (log in first), nobody yet
    (choose a password, which creates the account with the invited, thereby verified, email)."""
    invitation = selectors.invitation_get_by_token(token=token)
    if invitation is None or invitation.client_id != request.tenant.pk:
        return not_found(request)
    if not invitation.is_pending:
        if request.role in (ROLE_CLIENT_ADMIN, ROLE_STAFF) and request.user.email.lower() == invitation.email.lower():
            # The invited person, back on a link they already used: nothing to do but go in.
            return render(request, "site/invitation_already_member.html", {"invitation": invitation})
        return render(request, "site/invitation_expired.html", {"invitation": invitation}, status=410)
    user = request.user if request.user.is_authenticated else None
    needs_login = user is None and account_exists(email=invitation.email)
    form = None if user or needs_login else InvitationAcceptForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and not needs_login and (form is None or form.is_valid()):
        try:
            membership = services.invitation_accept(
                invitation=invitation,
                user=user,
                password=form.cleaned_data["password1"] if form else "",
                full_name=form.cleaned_data["full_name"] if form else "",
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if user is None:
                login(request, membership.user, backend="allauth.account.auth_backends.AuthenticationBackend")
            messages.success(request, f"Welcome to {invitation.client.name}.")
            return redirect("site_home")
    context = {"invitation": invitation, "form": form, "needs_login": needs_login}
    return render(request, "site/invitation_accept.html", context)
