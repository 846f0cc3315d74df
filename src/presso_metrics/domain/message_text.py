"""The characters SQS accepts in message bodies and attribute values.

SQS refuses anything outside ``#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF``.
The SQS adapter checks it before sending, and dead-lettering uses it to decide when a body must
travel base64-encoded.
"""

from __future__ import annotations


def is_sqs_text(text: str) -> bool:
    for ch in text:
        c = ord(ch)
        if c < 0x20:
            if c not in (0x9, 0xA, 0xD):
                return False
        elif 0xD800 <= c <= 0xDFFF or c in (0xFFFE, 0xFFFF):
            return False
    return True
