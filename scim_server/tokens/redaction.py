"""A second line of defence: bearer tokens never reach a log line, whatever formats them.

kubescim's own code never formats a token or an API response body into a message; this
catches what a library might (an exception carrying a response body, a header dump).
Installed as the log record factory, so it covers every logger and handler, including
ones configured later: a record's message and traceback are redacted when it is made.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from .credentials import TOKEN_PREFIX

# A token (kscim_ + 43 URL-safe characters), the same base64-encoded as in a Secret's
# data (every token starts with "kscim_", which base64 spells "a3NjaW1f"), and bearer
# credentials of any kind.
_SECRET = re.compile(
    rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{8,}}|a3NjaW1f[A-Za-z0-9+/]{{8,}}=*|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{{8,}}"
)
_MARKERS = (TOKEN_PREFIX, "a3NjaW1f", "earer")
REDACTED = "<redacted>"
_installed = False


def redact(text: str) -> str:
    """``text`` with every token-like substring replaced."""
    if not any(m in text for m in _MARKERS):
        return text
    return _SECRET.sub(REDACTED, text)


def _redacting(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the formatter to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(text)
        return record

    return make


def install_redaction() -> None:
    """Redact every log record made from now on in this process (idempotent)."""
    global _installed
    if not _installed:
        logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
        _installed = True
