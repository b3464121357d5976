"""The assistant's answer streams to everyone on the ticket and the stream is closed with the id
of the message that replaces the provisional bubble; a draft streams to its engineer only."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from tenant_apps.ai.models import AIResult
from tenant_apps.ai.services import answer_request
from tenant_apps.tickets import services
from tenant_apps.tickets.live import group_name
from tenant_apps.tickets.models import Message


@pytest.fixture
def ticket(in_acme, users):
    return services.ticket_create(requester=users["acme_staff"], subject="VPN drops", description="<p>hourly</p>")


def _frames(channel: str) -> list[dict]:
    layer = get_channel_layer()
    frames = []
    while True:
        try:
            frames.append(_receive(layer, channel))
        except TimeoutError:
            return frames


def _receive(layer, channel):
    import asyncio

    async def once():
        return await asyncio.wait_for(layer.receive(channel), timeout=0.2)

    return async_to_sync(once)()


def _listen(group: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def test_assistant_answer_streams_to_everyone_and_closes_with_its_message(
    ticket, users, offline_only, django_capture_on_commit_callbacks
):
    everyone = _listen(group_name(connection.schema_name, ticket.pk, "all"))
    with django_capture_on_commit_callbacks(execute=True):
        result = answer_request(ticket=ticket, actor=users["acme_staff"], role="staff", kind="assistant")
    frames = [f for f in _frames(everyone) if f.get("type") == "live.stream"]
    kinds = [f["frame"] for f in frames]
    assert kinds[0] == "stream.open" and kinds[-1] == "stream.close" and "stream.chunk" in kinds
    streamed = "".join(f.get("delta", "") for f in frames)
    result.refresh_from_db()
    assert streamed.strip() == result.raw_output.strip()
    message = Message.objects.get(ticket=ticket, kind="ai")
    assert frames[-1]["message_id"] == message.pk and frames[-1]["stream_id"] == f"ai-{result.pk}"


def test_a_draft_streams_only_to_the_engineer_who_asked(ticket, users, offline_only,
                                                        django_capture_on_commit_callbacks):  # fmt: skip
    everyone = _listen(group_name(connection.schema_name, ticket.pk, "all"))
    engineer = _listen(group_name(connection.schema_name, ticket.pk, f"u{users['engineer_acme'].pk}"))
    with django_capture_on_commit_callbacks(execute=True):
        answer_request(ticket=ticket, actor=users["engineer_acme"], role="engineer", kind="draft")
    assert not [f for f in _frames(everyone) if f.get("type") == "live.stream"]
    mine = [f["frame"] for f in _frames(engineer) if f.get("type") == "live.stream"]
    assert mine[0] == "stream.open" and mine[-1] == "stream.close"
    assert AIResult.objects.get(kind="draft").state == "done"
