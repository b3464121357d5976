"""The assistant's answer streams to everyone on the ticket and the stream is closed with the id
of the message that replaces the provisional bubble; a draft streams to its engineer only. The
text so far is kept for pages that join mid-stream, and only while the stream is open."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from tenant_apps.ai import tasks
from tenant_apps.ai.models import AIResult
from tenant_apps.ai.services import answer_produce, answer_request
from tenant_apps.tickets import live, services, streams
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
    # Each chunk starts where the one before ended; nothing is kept once the stream closed.
    chunks = [f for f in frames if f["frame"] == "stream.chunk"]
    assert [f["offset"] for f in chunks] == [0] + [f["end"] for f in chunks[:-1]]
    assert streams.stream_list(connection.schema_name, ticket.pk) == []


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


def test_while_it_streams_the_text_so_far_is_kept_for_late_pages(ticket, users, offline_only, monkeypatch):
    """At every chunk sent, a page joining then would be sent exactly the text sent so far."""
    monkeypatch.setattr(live, "STREAM_FLUSH_SECONDS", 0)
    everyone = _listen(group_name(connection.schema_name, ticket.pk, "all"))
    result = AIResult.objects.create(ticket=ticket, kind="assistant", requested_by=users["acme_staff"])
    kept = []

    def on_chunk(result, delta):
        tasks._live_chunk(result, delta)
        kept.append(streams.stream_get(connection.schema_name, ticket.pk, f"ai-{result.pk}").text)

    answer_produce(result.pk, on_chunk=on_chunk)
    sent = [f["delta"] for f in _frames(everyone) if f.get("frame") == "stream.chunk"]
    assert len(sent) > 5
    assert kept == ["", *("".join(sent[: i + 1]) for i in range(len(sent)))]
    live.stream_close(ticket, stream_id=f"ai-{result.pk}", kind="assistant", user_id=None)
    assert streams.stream_get(connection.schema_name, ticket.pk, f"ai-{result.pk}") is None


def test_a_fallback_starts_the_stream_again_empty(ticket, users, use_openai, django_capture_on_commit_callbacks):
    """The remote model answers nothing, the offline one answers: the stream starts twice."""
    use_openai.default = "empty"
    engineer = _listen(group_name(connection.schema_name, ticket.pk, f"u{users['engineer_acme'].pk}"))
    with django_capture_on_commit_callbacks(execute=True):
        result = answer_request(ticket=ticket, actor=users["engineer_acme"], role="engineer", kind="draft")
    result.refresh_from_db()
    assert result.provider == "offline"
    frames = [f for f in _frames(engineer) if f.get("type") == "live.stream"]
    opens = [f["attempt"] for f in frames if f["frame"] == "stream.open"]
    assert opens == [1, 2]
    chunks = [f for f in frames if f["frame"] == "stream.chunk"]
    assert {f["attempt"] for f in chunks} == {2} and chunks[0]["offset"] == 0
    assert "".join(f["delta"] for f in chunks).strip() == result.raw_output.strip()
