"""An invoice as a PDF (fpdf2: pure Python, no system libraries). Drawn from the same rows as
the HTML page.

Text is set in DejaVu Sans, vendored in `fonts/` (see its README) and embedded as a subset of the
glyphs the invoice uses, so client names and line descriptions in Latin, Greek or Cyrillic script
("Łódź", "Dvořák", "Ελληνικά", "Москва"), the euro sign and typographic dashes come out as typed.
DejaVu has no CJK ideographs (nor some other scripts), and fpdf2 silently drops a character its
font cannot draw: such a character is drawn as U+FFFD instead (a visible "�") and logged, so a
name is never shortened without a trace. No right-to-left or complex-script shaping."""

from __future__ import annotations

import functools
import logging
import unicodedata
from pathlib import Path

from django.utils import timezone
from fontTools.ttLib import TTFont
from fpdf import FPDF

from shared_apps.billing.models import Invoice
from shared_apps.billing.templatetags.billing import money, price

logger = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "DejaVuSans"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
MISSING_GLYPH = "\ufffd"


@functools.cache
def font_coverage() -> frozenset[int]:
    """The code points every vendored face can draw (the bold face lacks a few the regular has)."""
    cmaps = [TTFont(FONT_DIR / name, lazy=True).getBestCmap() for name in FONT_FILES.values()]
    return frozenset.intersection(*(frozenset(cmap) for cmap in cmaps))


def _text(value, missing: set[str]) -> str:
    """`value` as the fonts can draw it: composed (NFC, so a decomposed "ë" is one glyph), an
    invisible format character the font lacks dropped, anything else it lacks as U+FFFD and
    added to `missing`."""
    covered = font_coverage()
    out = []
    for char in unicodedata.normalize("NFC", str(value)):
        if char == "\n" or ord(char) in covered:
            out.append(char)
        elif unicodedata.category(char) not in ("Cc", "Cf"):
            missing.add(char)
            out.append(MISSING_GLYPH)
    return "".join(out)


def _status(invoice: Invoice) -> str:
    """As the invoice page says it: an open invoice past its due date is overdue."""
    if invoice.is_overdue_on(timezone.localdate()):
        return "Overdue"
    return invoice.get_status_display() + (f" on {invoice.paid_on:%d %b %Y}" if invoice.paid_on else "")


def _money(amount, currency: str) -> str:
    return f"{currency} {money(amount)}"


def invoice_pdf(invoice: Invoice, lines) -> bytes:
    """`lines`: (line, ticket numbers, entry count) as from `invoice_lines_with_tickets`."""
    missing: set[str] = set()
    text = functools.partial(_text, missing=missing)
    pdf = FPDF(format="A4")
    for style, name in FONT_FILES.items():
        pdf.add_font(FONT_FAMILY, style, FONT_DIR / name)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_title(text(f"Invoice {invoice.number}"))
    pdf.set_font(FONT_FAMILY, "B", 18)
    pdf.cell(0, 10, text(f"Invoice {invoice.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 10)
    for label, value in (
        ("Billed to", invoice.site_name),
        ("Period", f"{invoice.period_start:%d %b %Y} – {invoice.period_end:%d %b %Y}"),
        ("Issued", f"{invoice.issued_on:%d %b %Y}"),
        ("Due", f"{invoice.due_on:%d %b %Y}"),
        ("Status", _status(invoice)),
    ):
        pdf.cell(30, 6, label)
        pdf.cell(0, 6, text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    # DejaVu is wider than Helvetica: these widths keep "EUR 999,999.99" and "0.0125 / 1,000 tokens"
    # on one line at 10 pt.
    with pdf.table(col_widths=(54, 28, 32, 26), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        header = table.row()
        for title in ("Description", "Quantity", "Price", "Amount"):
            header.cell(title)
        for line, tickets, _count in lines:
            row = table.row()
            description = line.description + (f"\n{line.detail}" if line.detail else "")
            if tickets:
                description += "\nTickets: " + ", ".join(f"#{n}" for n in tickets)
            row.cell(text(description))
            row.cell(text(f"{line.quantity:,} {line.unit}"))
            row.cell(text(f"{price(line.unit_price)} / {line.price_per}"))
            row.cell(text(_money(line.amount, invoice.currency)))
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, "B", 12)
    pdf.cell(0, 8, text(f"Total {_money(invoice.total, invoice.currency)}"), align="R", new_x="LMARGIN", new_y="NEXT")
    if missing:
        logger.warning(
            "invoice %s: the PDF font has no glyph for %s, drawn as U+FFFD",
            invoice.number,
            " ".join(f"U+{ord(char):04X}" for char in sorted(missing)),
        )
    return bytes(pdf.output())
