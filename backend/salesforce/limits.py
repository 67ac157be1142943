"""The org's daily API allowance as Salesforce reports it (`Sforce-Limit-Info: api-usage=N/M`): how long
to wait before the next call, slowing down above 90 % and stopping at the limit (security check 33)."""

from __future__ import annotations

SLOW_FROM = 0.9
# At 90 % a call waits 0 s, growing linearly to this just below the limit: a run spreads what is left
# of the allowance over time instead of spending it at once (other integrations of the org need it too).
MAX_DELAY_SECONDS = 2.0


def parse_usage(header: str) -> tuple[int, int] | None:
    """(used, allowance) from a Sforce-Limit-Info header, or None when it carries no api-usage."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "api-usage":
            used, _, total = value.partition("/")
            if used.isdigit() and total.isdigit():
                return int(used), int(total)
    return None


def exhausted(usage: tuple[int, int] | None) -> bool:
    """True when the last response said the allowance is spent."""
    return usage is not None and usage[1] > 0 and usage[0] >= usage[1]


def delay(usage: tuple[int, int] | None) -> float:
    """Seconds to wait before the next call: none below 90 % of the allowance, then up to MAX_DELAY_SECONDS."""
    if usage is None or usage[1] <= 0:
        return 0.0
    share = usage[0] / usage[1]
    if share < SLOW_FROM:
        return 0.0
    return MAX_DELAY_SECONDS * min(1.0, (share - SLOW_FROM) / (1.0 - SLOW_FROM))
