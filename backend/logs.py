"""Logging that never carries secrets: tokens and passwords are redacted before any handler sees them."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(
    r"(?i)(bearer\s+|access_token[\"'=:\s]+|refresh_token[\"'=:\s]+|password[\"'=:\s]+|"
    r"client_secret[\"'=:\s]+|signed_request[\"'=:\s]+|sid=|[?&](?:code|state|token)=|\b(?=ift1\.))"
    r"([^\s&\"',;]+)")


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(lambda m: m.group(1) + "[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactSecrets) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactSecrets())
        root.addHandler(handler)
        root.setLevel(level)
