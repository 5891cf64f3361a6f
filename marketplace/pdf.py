"""The waste-transfer note of a delivery as a PDF (fpdf2, pure Python).

The font is DejaVu Sans, shipped in marketplace/fonts/ (Debian fonts-dejavu-core
2.37; licence beside it), so Cyrillic names print on any machine.
"""

from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf import FPDF

FONT = Path(__file__).resolve().parent / "fonts" / "DejaVuSans.ttf"


def delivery_note_pdf(*, delivery, deal) -> bytes:
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
        % {"deal": deal.pk, "ticket": delivery.ticket_number, "date": delivery.date},
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    supply_site, receiver_site = deal.supply.site, deal.receiver_site
    for title, org, site in (
        (_("Consignor (supplier)"), deal.supplier, supply_site),
        (_("Consignee (receiver)"), deal.receiver, receiver_site),
    ):
        pdf.set_font("DejaVu", size=12)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", size=10)
        address = f", {site.address}" if site and site.address else ""
        lines = [org.name, f"{_('BIN')} {org.bin}"]
        if site:
            lines.append(f"{site.name}{address}, {site.get_district_display()}")
        pdf.multi_cell(0, 5, "\n".join(lines), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    material = deal.material
    t = pgettext("unit symbol: tonnes", "t")
    rows = [
        (_("Material"), f"{material.name_en} / {material.name_ru}"),
        (_("EWC code"), material.ewc_code + (f" ({_('hazardous')})" if material.hazardous else "")),
        (
            _("National waste code"),
            (material.kz_code or "—") + (f" ({_('hazardous')})" if material.kz_hazardous else ""),
        ),
        (_("Tonnes (weighbridge)"), f"{delivery.tonnes.normalize():f} {t}{_weights(delivery)}"),
        (_("Date"), str(delivery.date)),
        (_("Vehicle"), delivery.vehicle or "—"),
        (_("Transport by"), deal.get_transport_by_display()),
        (_("Status"), delivery.get_status_display()),
    ]
    if delivery.loads != 1:
        rows.insert(3, (_("Number of loads"), str(delivery.loads)))
    with pdf.table(col_widths=(50, 130), text_align="LEFT", first_row_as_headings=False) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(14)
    for label in (
        _("Consignor: name, signature, date"),
        _("Carrier / driver: name, signature, date"),
        _("Consignee: name, signature, date"),
    ):
        pdf.cell(0, 6, "_" * 60, new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6, label, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
    return bytes(pdf.output())


def _weights(delivery) -> str:
    """Gross and tare in brackets, when the ticket gave both readings."""
    if delivery.gross_tonnes is None or delivery.tare_tonnes is None:
        return ""
    weights = _("gross %(g)s t − tare %(r)s t") % {
        "g": f"{delivery.gross_tonnes.normalize():f}",
        "r": f"{delivery.tare_tonnes.normalize():f}",
    }
    return f" ({weights})"
