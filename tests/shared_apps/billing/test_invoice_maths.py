"""Invoice maths: plan fee, included hours, time beyond them, AI overage, pro rata, rounding."""

import datetime as dt
from decimal import Decimal

from shared_apps.billing.invoicing import Entry, invoice_draft_lines, invoice_run, line_amount, plan_segments
from shared_apps.billing.metering import usage_add
from shared_apps.billing.models import Invoice, SubscriptionChange
from tests.shared_apps.billing.conftest import NOV_1, OCT, log_time, plan_make, subscribe


def _lines(invoice: Invoice) -> list[tuple[str, int, Decimal]]:
    return [(line.kind, int(line.quantity), line.amount) for line in invoice.lines.all()]


def _october(site) -> Invoice:
    invoice_run(month=OCT, today=NOV_1)
    return Invoice.objects.get(client=site, period_start=OCT)


def test_zero_usage_is_the_plan_fee_alone(acme, business):
    subscribe(acme, business)
    invoice = _october(acme)
    assert _lines(invoice) == [("plan", 31, Decimal("310.00"))]
    assert invoice.total == Decimal("310.00") and invoice.currency == "EUR"
    assert invoice.lines.get().description == "Business plan, October 2026"
    assert (invoice.issued_on, invoice.due_on, invoice.status) == (NOV_1, dt.date(2026, 11, 15), "open")


def test_time_within_the_included_hours_costs_nothing_more(acme, users, business):
    subscribe(acme, business)
    log_time(acme, users, 300, dt.date(2026, 10, 3))
    log_time(acme, users, 300, dt.date(2026, 10, 20))  # exactly 10 h: all included
    invoice = _october(acme)
    assert _lines(invoice) == [("plan", 31, Decimal("310.00")), ("time", 0, Decimal("0.00"))]
    assert invoice.total == Decimal("310.00")


def test_billable_time_beyond_the_included_hours_at_the_plan_rate(acme, users, business):
    subscribe(acme, business)
    log_time(acme, users, 600, dt.date(2026, 10, 3))
    log_time(acme, users, 150, dt.date(2026, 10, 4))  # 2.5 h beyond the 10 included
    log_time(acme, users, 500, dt.date(2026, 10, 5), billable=False)  # not billed at all
    log_time(acme, users, 45, dt.date(2026, 11, 2))  # next month's
    invoice = _october(acme)
    assert _lines(invoice) == [("plan", 31, Decimal("310.00")), ("time", 150, Decimal("225.00"))]
    assert invoice.total == Decimal("535.00")
    time_line = invoice.lines.get(kind="time")
    assert time_line.detail.startswith("750 min billable on 2 tickets, 600 min included")
    assert time_line.time_entries.count() == 2


def test_mid_month_plan_change_is_pro_rata(acme, users, business, platform_admin):
    from shared_apps.billing.services import subscription_plan_change

    subscription = subscribe(acme, business)
    premium = plan_make("premium", monthly_fee=Decimal("620.00"), included_hours=Decimal("31.00"),
                        hourly_rate=Decimal("60.00"))  # fmt: skip
    subscription_plan_change(subscription=subscription, plan=premium, effective_on=dt.date(2026, 10, 11),
                             by=platform_admin)  # fmt: skip
    log_time(acme, users, 240, dt.date(2026, 10, 2))  # business days 1-10: 10 h x 10/31 = 194 min included
    log_time(acme, users, 1300, dt.date(2026, 10, 20))  # premium days 11-31: 31 h x 21/31 = 1260 min
    invoice = _october(acme)
    assert _lines(invoice) == [
        ("plan", 10, Decimal("100.00")),  # 310 x 10/31
        ("time", 46, Decimal("69.00")),  # 240 - 194 = 46 min at 90/h
        ("plan", 21, Decimal("420.00")),  # 620 x 21/31
        ("time", 40, Decimal("40.00")),  # 1300 - 1260 = 40 min at 60/h
    ]
    assert invoice.total == Decimal("629.00")
    # The history that makes the maths reproducible is stored.
    history = SubscriptionChange.objects.filter(subscription=subscription)
    assert list(history.values_list("plan__slug", "effective_on")) == [
        ("business", dt.date(2026, 1, 1)),
        ("premium", dt.date(2026, 10, 11)),
    ]


def test_ai_tokens_beyond_the_quota_per_thousand(acme, business):
    subscribe(acme, business)
    usage_add(client_id=acme.pk, provider="openai", model="gpt", tokens_in=90_000, tokens_out=35_500, day=OCT)
    usage_add(client_id=acme.pk, provider="offline", model="", tokens_in=900_000, tokens_out=0, day=OCT)  # free
    invoice = _october(acme)
    ai = invoice.lines.get(kind="ai")
    assert (int(ai.quantity), ai.amount) == (25_500, Decimal("0.51"))  # 25.5 x 0.02
    assert ai.detail == "125,500 tokens used with external providers, 100,000 included"


def test_ai_within_the_quota_adds_no_line(acme, business):
    subscribe(acme, business)
    usage_add(client_id=acme.pk, provider="gemini", model="flash", tokens_in=50_000, tokens_out=0, day=OCT)
    assert [kind for kind, *_ in _lines(_october(acme))] == ["plan"]


def test_each_line_is_rounded_once_half_up():
    assert line_amount(1, Decimal("0.0050"), 1) == Decimal("0.01")  # half up, not to even
    assert line_amount(1, Decimal("0.0250"), 1) == Decimal("0.03")
    # 7 min at 100/h = 11.6666..: rounded on the line total, not per minute (7 x 1.67 = 11.69).
    assert line_amount(7, Decimal("100.00"), 60) == Decimal("11.67")
    plan = plan_make("odd", monthly_fee=Decimal("99.99"))
    (fee,) = invoice_draft_lines(
        segments=plan_segments(
            [(dt.date(2026, 1, 1), plan)],
            period_start=OCT,
            period_end=dt.date(2026, 10, 31),
            started_on=dt.date(2026, 10, 17),
        ),  # fmt: skip
        period_start=OCT,
        period_end=dt.date(2026, 10, 31),
        entries=[],
        tokens=0,
    )
    assert (fee.quantity, fee.amount) == (15, Decimal("48.38"))  # 99.99 x 15/31 = 48.3822..


def test_trial_days_are_not_charged(acme, business):
    subscribe(acme, business, trial_ends_on=dt.date(2026, 10, 22))
    (fee,) = _october(acme).lines.all()
    assert (int(fee.quantity), fee.amount, fee.starts_on) == (10, Decimal("100.00"), dt.date(2026, 10, 22))


def test_late_entries_of_an_invoiced_month_go_on_the_next_invoice():
    plan = plan_make("late", included_hours=Decimal("0"))
    segments = plan_segments([(dt.date(2026, 1, 1), plan)], period_start=NOV_1, period_end=dt.date(2026, 11, 30),
                             started_on=dt.date(2026, 1, 1))  # fmt: skip
    lines = invoice_draft_lines(segments=segments, period_start=NOV_1, period_end=dt.date(2026, 11, 30),
                                entries=[Entry(1, 30, dt.date(2026, 10, 30), 7)], tokens=0)  # fmt: skip
    assert [(line.kind, line.quantity, line.amount) for line in lines] == [
        ("plan", 30, Decimal("310.00")),
        ("time", 30, Decimal("45.00")),
    ]


def test_a_site_that_started_after_the_month_or_cancelled_before_is_not_invoiced(acme, globex, business):
    subscribe(acme, business, since=NOV_1)
    subscribe(globex, business, cancelled_on=OCT)
    result = invoice_run(month=OCT, today=NOV_1)
    assert not Invoice.objects.filter(client__in=[acme, globex]).exists()
    assert result.issued == []


def test_a_free_plan_with_nothing_to_bill_is_settled_on_issue(acme):
    free = plan_make("free", monthly_fee=Decimal("0"))
    subscribe(acme, free)
    invoice = _october(acme)
    assert (invoice.total, invoice.status, invoice.paid_on) == (Decimal("0.00"), "paid", NOV_1)
