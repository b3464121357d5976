"""Email about sites, sent by a worker (or in-process after commit when no broker is set)."""

from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string

from shared_apps.tenancy.links import site_url
from shared_apps.tenancy.models import Invitation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(invitation_id: int, token: str) -> None:
    invitation = Invitation.objects.select_related("client", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_pending:
        return
    context = {
        "invitation": invitation,
        "site": invitation.client,
        "accept_url": site_url(invitation.client, f"/invite/{token}/"),
    }
    send_mail(
        subject=render_to_string("tenancy/email/invitation_subject.txt", context).strip(),
        message=render_to_string("tenancy/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@shared_task
def site_export_task(client_id: int) -> str:
    """Write a site's export archive for the console (can take minutes for a large site)."""
    from shared_apps.tenancy.archive.exports import site_export_write
    from shared_apps.tenancy.models import Client

    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        return ""
    return site_export_write(client=client).name
