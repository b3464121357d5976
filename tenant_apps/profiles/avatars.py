"""Avatar uploads: prove the bytes are a picture, then keep only a re-encoded square thumbnail.

Nothing about the file is trusted: not its name, not its declared type. Pillow must recognise
it as JPEG, PNG, GIF or WebP from its content; its declared size is checked before any pixel
is decoded (decompression bombs); `verify()` checks the structure, then a fresh open decodes
every pixel (truncated files fail here). What is kept is a new 256 x 256 WebP encoded from the
pixels alone, so EXIF (GPS position, camera serial), comments and anything appended after the
image data are gone.

The same pipeline serves every avatar: client staff's (one per site, `profiles.Profile`) and
engineers' (one for all the sites they cover, `engineers.EngineerProfile`). `avatar_stored`
saves the result, `avatar_response` serves it.
"""

import io
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4000
THUMBNAIL_SIDE = 256
FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
ACCEPTED = "a JPEG, PNG, GIF or WebP picture"


def _refuse(message: str):
    return ValidationError({"avatar": [message]})


def _sniff(head: bytes) -> str | None:
    """Name text formats people try (or attackers rename) before Pillow says 'not an image'."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text or (text.startswith(b"<?xml") and b"svg" in text):
        return f"SVG files are not accepted as avatars (they are documents that can carry scripts). Upload {ACCEPTED}."
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return f"This file is a web page (HTML), not a picture, whatever its name says. Upload {ACCEPTED}."
    return None


def _check_declared(image: Image.Image) -> None:
    if image.format not in FORMATS:
        raise _refuse(f"This is a {image.format} image; upload {ACCEPTED}.")
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise _refuse(f"The picture is {width:,} x {height:,} pixels; at most {MAX_SIDE:,} x {MAX_SIDE:,} please.")


def avatar_thumbnail(upload) -> bytes:
    """The WebP bytes of a square thumbnail of `upload`, or ValidationError({"avatar": ...})."""
    size = upload.size
    if not size:
        raise _refuse("The file is empty.")
    if size > MAX_BYTES:
        raise _refuse(
            f"The file is {size / 1024 / 1024:.1f} MB; an avatar may be at most {MAX_BYTES // 1024 // 1024} MB."
        )
    upload.seek(0)
    problem = _sniff(upload.read(1024))
    if problem:
        raise _refuse(problem)
    with warnings.catch_warnings():
        # Pillow warns past MAX_IMAGE_PIXELS and raises past twice that; both mean "refuse".
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            upload.seek(0)
            with Image.open(upload) as probe:
                _check_declared(probe)  # from the header: no pixel decoded yet
                probe.verify()
            upload.seek(0)
            with Image.open(upload) as image:
                _check_declared(image)
                image.seek(0)  # the first frame of an animation
                image.load()
                picture = ImageOps.exif_transpose(image)  # keep the orientation, drop the EXIF
                picture = picture.convert("RGBA" if _has_alpha(picture) else "RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse(
                f"The picture declares far more pixels than it should (a decompression bomb); "
                f"at most {MAX_SIDE:,} x {MAX_SIDE:,} pixels."
            ) from None
        except UnidentifiedImageError:
            raise _refuse(
                f"This file is not a picture we can read, whatever its name says. Upload {ACCEPTED}."
            ) from None
        except ValidationError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, IndexError):
            raise _refuse("The picture is damaged or incomplete (truncated); it cannot be read.") from None
    thumbnail = ImageOps.fit(picture, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumbnail.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


@contextmanager
def avatar_stored(upload, *, folder: str) -> Iterator[str]:
    """Check and re-encode `upload` (a refused file raises ValidationError and stores nothing),
    save the thumbnail as `<folder>/<random>.webp` and yield its storage name. If the block
    raises (the row pointing at it could not be saved), the new file is deleted again."""
    data = avatar_thumbnail(upload)
    name = default_storage.save(f"{folder}/{secrets.token_hex(8)}.webp", ContentFile(data))
    try:
        yield name
    except BaseException:
        default_storage.delete(name)
        raise


def avatar_response(file) -> FileResponse:
    """Serve a stored avatar (the caller has checked access) as WebP, sandboxed, cached privately
    (its URL carries ?v=<version>, so a new picture is a new URL)."""
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404("No picture") from None
    response = FileResponse(handle, content_type="image/webp")
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response
