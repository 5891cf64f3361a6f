"""The waste-transfer note of a delivery as a PDF (fpdf2, pure Python).

The note prints the delivery's movement record (``marketplace.movement``, the same
builder as the exports and the API), labelled in the reader's language by
``marketplace.transfer_note``, which the printable page uses too.

The font is DejaVu Sans, shipped in marketplace/fonts/ (Debian fonts-dejavu-core
2.37; licence beside it), so Cyrillic and Kazakh names print on any machine.
"""

from pathlib import Path

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF

from marketplace.movement import movement_record
from marketplace.transfer_note import note_rows, party_lines

FONT = Path(__file__).resolve().parent / "fonts" / "DejaVuSans.ttf"


def delivery_note_pdf(*, delivery, deal) -> bytes:
    record = movement_record(delivery)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Waste-transfer note {delivery.ticket_number}")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=18)
    pdf.cell(0, 12, _("Waste-transfer note"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)
    pdf.cell(
        0,
        6,
        _("Deal #%(deal)s · weighbridge ticket %(ticket)s · %(date)s")
        % {"deal": deal.pk, "ticket": delivery.ticket_number, "date": date_format(delivery.date)},
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    for title, party in (
        (_("Consignor (supplier)"), record["giver"]),
        (_("Consignee (receiver)"), record["receiver"]),
    ):
        pdf.set_font("DejaVu", size=12)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", size=10)
        pdf.multi_cell(0, 5, "\n".join(party_lines(party)), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    with pdf.table(col_widths=(55, 125), text_align="LEFT", first_row_as_headings=False) as table:
        for label, value in note_rows(record):
            row = table.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(10)
    for label in (
        _("Consignor: name, signature, date"),
        _("Carrier / driver: name, signature, date"),
        _("Consignee: name, signature, date"),
    ):
        pdf.cell(0, 6, "_" * 60, new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6, label, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
    return bytes(pdf.output())
