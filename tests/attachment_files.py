"""Files for the attachment tests, made here with Pillow (no binary fixtures)."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from PIL.ExifTags import IFD

CAMERA = "SecretCam-GPS-77"
# Almaty, in degrees, minutes, seconds.
GPS = {1: "N", 2: (43.0, 15.0, 30.0), 3: "E", 4: (76.0, 52.0, 10.0)}
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
MZ = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


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
