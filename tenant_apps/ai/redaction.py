"""Strip personal data and secrets from text before it leaves for an external provider.

Emails, phone numbers and password-like strings become placeholders (`[email]`, `[phone]`,
`[secret]`). On by default (`AI_REDACT`); the offline model sees the original text.
"""

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# +44 20 7946 0958, (555) 123-4567, 0171-555 1234, 06 12 34 56 78: 7+ digits with separators.
PHONE = re.compile(r"(?<![\w/.-])(?:\+|00)?\(?\d[\d\s().-]{5,}\d(?![\w/-])")
# "password: hunter2", "pwd=S3cret!", "PIN 4821", "passcode is abc123" -> the value goes.
SECRET_AFTER_WORD = re.compile(
    r"(?i)\b(password|passwort|passwd|pwd|passcode|pin|passphrase|secret|api[ _-]?key|token)"
    r"(\s*(?:is|was|=|:|->)?\s*)(['\"]?)(\S{3,})\3"
)
# Long random-looking tokens: API keys, bearer tokens (letters and digits mixed, 20+ chars).
TOKEN = re.compile(r"\b(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{24,}\b")


DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")


def _phone(match: re.Match) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if DATE.fullmatch(found.strip()) or not 7 <= digits <= 15:
        return found
    return "[phone]"


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = SECRET_AFTER_WORD.sub(lambda m: f"{m.group(1)}{m.group(2)}[secret]", text)
    text = TOKEN.sub("[secret]", text)
    return PHONE.sub(_phone, text)
