"""An invoice as a PDF (fpdf2: pure Python, no system libraries). Drawn from the same rows as
the HTML page. The built-in Helvetica covers Latin-1 only, so other characters are replaced."""

from __future__ import annotations

from django.utils import timezone
from fpdf import FPDF

from shared_apps.billing.models import Invoice
from shared_apps.billing.templatetags.billing import money, price


def _text(value) -> str:
    text = str(value).replace("–", "-").replace("—", "-").replace("×", "x")
    return text.encode("latin-1", "replace").decode("latin-1")


def _status(invoice: Invoice) -> str:
    """As the invoice page says it: an open invoice past its due date is overdue."""
    if invoice.is_overdue_on(timezone.localdate()):
        return "Overdue"
    return invoice.get_status_display() + (f" on {invoice.paid_on:%d %b %Y}" if invoice.paid_on else "")


def _money(amount, currency: str) -> str:
    return f"{currency} {money(amount)}"


def invoice_pdf(invoice: Invoice, lines) -> bytes:
    """`lines`: (line, ticket numbers, entry count) as from `invoice_lines_with_tickets`."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _text(f"Invoice {invoice.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, value in (
        ("Billed to", invoice.site_name),
        ("Period", f"{invoice.period_start:%d %b %Y} - {invoice.period_end:%d %b %Y}"),
        ("Issued", f"{invoice.issued_on:%d %b %Y}"),
        ("Due", f"{invoice.due_on:%d %b %Y}"),
        ("Status", _status(invoice)),
    ):
        pdf.cell(30, 6, label)
        pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(60, 30, 28, 22), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        header = table.row()
        for title in ("Description", "Quantity", "Price", "Amount"):
            header.cell(title)
        for line, tickets, _count in lines:
            row = table.row()
            description = line.description + (f"\n{line.detail}" if line.detail else "")
            if tickets:
                description += "\nTickets: " + ", ".join(f"#{n}" for n in tickets)
            row.cell(_text(description))
            row.cell(_text(f"{line.quantity:,} {line.unit}"))
            row.cell(_text(f"{price(line.unit_price)} / {line.price_per}"))
            row.cell(_text(_money(line.amount, invoice.currency)))
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, _text(f"Total {_money(invoice.total, invoice.currency)}"), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
