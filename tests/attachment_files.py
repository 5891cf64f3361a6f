"""Files for the attachment tests, made here with Pillow (no binary fixtures)."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from fpdf import FPDF
from PIL import Image
from PIL.ExifTags import IFD

CAMERA = "SecretCam-GPS-77"
# Almaty, in degrees, minutes, seconds.
GPS = {1: "N", 2: (43.0, 15.0, 30.0), 3: "E", 4: (76.0, 52.0, 10.0)}
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
MZ = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
# The author's company, as a word processor writes it into a PDF's metadata.
PDF_AUTHOR = "Alatau Brewery LLP, A. Seitkali"
PDF_TEXT = "Moisture 77.5 percent"
# A PDF with no page: not a document anyone can read.
PDF_WITHOUT_PAGES = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def pdf(*, password: str | None = None) -> bytes:
    """A one-page lab sheet whose document information and XMP stream name its author."""
    sheet = FPDF()
    sheet.set_author(PDF_AUTHOR)
    sheet.set_creator(PDF_AUTHOR)
    sheet.set_title(f"Analysis for {PDF_AUTHOR}")
    sheet.set_xmp_metadata(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
        '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>{PDF_AUTHOR}</dc:creator>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    if password:
        sheet.set_encryption(owner_password=password, user_password=password)
    sheet.add_page()
    sheet.set_font("helvetica", size=12)
    sheet.cell(text=PDF_TEXT)
    return bytes(sheet.output())


PDF = pdf()


def picture(fmt: str = "JPEG", size=(64, 48), *, gps: bool = False, orientation=None) -> bytes:
    """A small picture; with ``gps`` its EXIF names a camera and a position."""
    image = Image.new("RGB", size, (200, 100, 50))
    exif = Image.Exif()
    if gps:
        exif[0x010F] = CAMERA  # Make
        exif.get_ifd(IFD.GPSInfo).update(GPS)
    if orientation:
        exif[0x0112] = orientation
    out = BytesIO()
    image.save(out, fmt, **({"exif": exif} if (gps or orientation) else {}))
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def exif_of(data: bytes) -> dict:
    with Image.open(BytesIO(data)) as image:
        exif = image.getexif()
        return {**dict(exif), "gps": dict(exif.get_ifd(IFD.GPSInfo)), "info": dict(image.info)}


def stored(field) -> bytes:
    """The bytes a FileField holds in storage."""
    with field.open("rb") as handle:
        return handle.read()
