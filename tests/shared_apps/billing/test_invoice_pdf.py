"""The invoice PDF draws names and descriptions in any script its embedded font covers (Polish,
Czech, Greek, Cyrillic, the euro sign, typographic dashes), read back with a real PDF parser;
what the font lacks (CJK) comes out as a visible U+FFFD, logged, never an error."""

import datetime as dt
import io
import logging

import pytest
from pypdf import PdfReader

from shared_apps.billing.invoicing import invoice_run
from shared_apps.billing.models import Invoice
from shared_apps.billing.pdf import _text
from tests.conftest import ACME_HOST, http
from tests.shared_apps.billing.conftest import NOV_1, OCT, log_time, plan_make, subscribe

NAME = "Łódź Logistics – Zoe\u0308 Dvořák"  # "Zoë" typed decomposed, as some keyboards send it
PLAN = "Ελληνικά Премиум"
DETAIL = "Cena w € … včetně DPH — Ставка"


def _invoice(acme, users, *, name: str) -> Invoice:
    acme.name = name
    acme.save(update_fields=["name"])
    subscribe(acme, plan_make("business", name=PLAN))
    log_time(acme, users, 660, dt.date(2026, 10, 5))
    invoice_run(month=OCT, today=NOV_1, send=False)
    invoice = Invoice.objects.get(client=acme, period_start=OCT)
    invoice.lines.filter(kind="time").update(detail=DETAIL)
    return invoice


def _pdf(invoice: Invoice, users) -> tuple[bytes, str]:
    response = http(ACME_HOST, users["acme_admin"]).get(f"/billing/invoices/{invoice.number}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return response.content, "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_draws_polish_czech_greek_cyrillic_euro_and_dashes(acme, users):
    invoice = _invoice(acme, users, name=NAME)
    _, text = _pdf(invoice, users)
    for word in ("Łódź", "Zoë", "Dvořák", "Ελληνικά", "Премиум", "Cena w € … včetně DPH — Ставка", "Oct 2026 – 31"):
        assert word in text, f"{word!r} not in the PDF's text:\n{text}"
    assert "Logistics – Zoë" in text
    assert "?" not in text and "\ufffd" not in text
    assert "EUR 310.00" in text and "EUR 90.00" in text and "Total EUR 400.00" in text


def test_pdf_embeds_a_subset_of_the_vendored_font(acme, users):
    content, _ = _pdf(_invoice(acme, users, name=NAME), users)
    fonts = PdfReader(io.BytesIO(content)).pages[0]["/Resources"]["/Font"]
    descendants = [font.get_object()["/DescendantFonts"][0].get_object() for font in fonts.values()]
    assert sorted(str(font["/BaseFont"]).split("+")[1] for font in descendants) == ["DejaVuSansBold", "DejaVuSansBook"]
    assert all("/FontFile2" in font["/FontDescriptor"] for font in descendants)  # embedded, not a core font
    # The two faces are 1.4 MB; the glyphs of one invoice are a few dozen kB.
    assert len(content) < 60_000


def test_cjk_name_is_drawn_as_replacement_characters_and_logged(acme, users, caplog):
    invoice = _invoice(acme, users, name="東京物産 Łódź")
    with caplog.at_level(logging.WARNING, logger="shared_apps.billing.pdf"):
        _, text = _pdf(invoice, users)
    assert "\ufffd\ufffd\ufffd\ufffd Łódź" in text  # visible, one per character, the rest intact
    assert "Премиум" in text
    [record] = [r for r in caplog.records if r.name == "shared_apps.billing.pdf"]
    assert invoice.number in record.getMessage() and "U+6771" in record.getMessage()


@pytest.mark.parametrize(
    ("value", "drawn", "missing"),
    [
        ("Zoe\u0308", "Zoë", set()),  # composed: one glyph, not a floating diaeresis
        ("a\u2066b\u2069c", "abc", set()),  # invisible isolates the font lacks: dropped
        ("株式会社 €", "\ufffd\ufffd\ufffd\ufffd €", {"株", "式", "会", "社"}),
        ("two\nlines", "two\nlines", set()),
    ],
)
def test_text_keeps_what_the_font_draws_and_marks_the_rest(value, drawn, missing):
    found: set[str] = set()
    assert _text(value, found) == drawn
    assert found == missing
