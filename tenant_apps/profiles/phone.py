"""Phone numbers: parsed and validated with Google's libphonenumber (`phonenumbers`), stored in
E.164 (`+442079460958`), shown in the international format (`+44 20 7946 0958`)."""

import phonenumbers
from django.core.exceptions import ValidationError

FORMAT_HINT = "Start with + and the country code, for example +44 20 7946 0958."


def phone_normalize(raw: str) -> str:
    """The E.164 form of `raw`, or "" for an empty value; ValidationError naming the problem."""
    text = (raw or "").strip()
    if not text:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        raise ValidationError(f"Write the number in international format. {FORMAT_HINT}")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise ValidationError(f"There is no country with this code. {FORMAT_HINT}") from None
        raise ValidationError(f"This does not read as a phone number. {FORMAT_HINT}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number for its country code; check the digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
