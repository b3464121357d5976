"""Image files for upload tests: real pictures made with Pillow, and hostile ones made by hand."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

TRAILER = b"<?php system($_GET['c']); ?> APPENDED-SECRET"


def picture(fmt="PNG", size=(300, 200), *, exif=None, split=True) -> bytes:
    """A picture whose left half is red and right half blue (to check orientation)."""
    image = Image.new("RGB", size, (0, 0, 255))
    if split:
        image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def jpeg_with_gps_and_rotation() -> bytes:
    """A 300x200 JPEG whose EXIF says "rotate 90 degrees clockwise" and carries a GPS position
    and a camera serial number."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif[0xA431] = "CAMERA-SERIAL-123456"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS IFD
    return picture("JPEG", exif=exif.tobytes())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG file whose header declares `width` x `height` pixels (a decompression bomb
    when large: a few hundred bytes that would need gigabytes once decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!DOCTYPE html><html><body><script>fetch('/x?c='+document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload(data: bytes, name="me.png", content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
