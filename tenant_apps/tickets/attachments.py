"""Which uploads a ticket accepts: size and count limits, and types judged by their content
(magic numbers), never by the file name or the browser's claimed type."""

from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

# Detected type -> what we call it in messages. Images are shown inline; everything else downloads.
ALLOWED_TYPES = {
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "application/pdf": "PDF",
    "application/zip": "ZIP archive",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel workbook",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint presentation",
    "text/plain": "text file",
}
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class CheckedUpload:
    upload: UploadedFile
    name: str
    content_type: str
    size: int


def _sniff(upload: UploadedFile) -> str | None:
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    # No binary signature: accept it as text only if it decodes as UTF-8 text without NULs.
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a multi-byte character cut at the sniff boundary is fine
            return None
    return "text/plain"


def uploads_check(uploads: list[UploadedFile]) -> list[CheckedUpload]:
    """All uploads, checked; a ValidationError naming each bad file otherwise (nothing is kept)."""
    limit, most = settings.ATTACHMENT_MAX_BYTES, settings.ATTACHMENT_MAX_FILES
    if len(uploads) > most:
        raise ValidationError({"attachments": [f"Attach at most {most} files at once ({len(uploads)} chosen)."]})
    checked, errors = [], []
    for upload in uploads:
        name = (upload.name or "file").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
        if upload.size > limit:
            errors.append(f"{name} is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}.")
            continue
        if upload.size == 0:
            errors.append(f"{name} is empty.")
            continue
        content_type = _sniff(upload)
        if content_type not in ALLOWED_TYPES:
            errors.append(
                f"{name} is not a file type we accept (images, PDF, Office documents, ZIP or plain text), "
                "whatever its name says."
            )
            continue
        checked.append(CheckedUpload(upload=upload, name=name, content_type=content_type, size=upload.size))
    if errors:
        raise ValidationError({"attachments": errors})
    return checked
