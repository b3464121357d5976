from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def price(value) -> str:
    """A unit price with the decimals it needs and at least two: 90.00, 0.02, 0.0125."""
    if value is None:
        return ""
    value = Decimal(value)
    cents = value.quantize(Decimal("0.01"))
    return f"{cents if cents == value else value.normalize():,f}"


@register.filter
def money(value) -> str:
    return f"{Decimal(value):,.2f}" if value is not None else ""


@register.filter
def hours(minutes) -> str:
    minutes = int(minutes or 0)
    return f"{minutes // 60}:{minutes % 60:02d} h"
