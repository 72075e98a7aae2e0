"""Files of the mails that came in, under DITBOT_MAIL_STORE: attachments, set-aside messages.

Each mail's files live in a folder named after a digest of its key, and are written under a
temporary name then renamed: a mail taken again after a crash writes the same files again
instead of new ones, and no half-written file is ever listed. An `OSError` here (disk full, no
permission) is a temporary failure: the mail is not recorded, so it will be taken again.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from ditbot.mail.inbound.parse import Attachment

NAME_MAX = 120


class MailStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def folder_of(self, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
        return f"{digest[:2]}/{digest[2:26]}"

    def keep_attachments(self, key: str, attachments: list[Attachment]) -> list[dict[str, Any]]:
        """Write each attachment; their descriptions (path relative to the store's root)."""
        kept: list[dict[str, Any]] = []
        used: set[str] = set()
        for number, attachment in enumerate(attachments, start=1):
            name = safe_name(attachment.filename) or f"piece-jointe-{number}"
            if name.lower() in used:
                name = f"{number}-{name}"
            used.add(name.lower())
            relative = f"attachments/{self.folder_of(key)}/{name}"
            self._write(relative, attachment.data)
            kept.append(
                {
                    "filename": attachment.filename or name,
                    "content_type": attachment.content_type,
                    "size": len(attachment.data),
                    "path": relative,
                }
            )
        return kept

    def set_aside(self, key: str, raw: bytes) -> str:
        """Keep a raw message that could not be read; its path relative to the store."""
        relative = f"set-aside/{self.folder_of(key).replace('/', '')}.eml"
        self._write(relative, raw)
        return relative

    def path(self, relative: str) -> Path:
        return self.root / relative

    def _write(self, relative: str, data: bytes) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)

    def check_writable(self) -> None:
        """Raise OSError when files cannot be written here (for `ditbot doctor`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()


def safe_name(filename: str) -> str:
    """A file name that is safe on any disk: no folder, no control or reserved character."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f<>:"|?*]', "_", name).strip(" .")
    if len(name) > NAME_MAX:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: NAME_MAX - len(suffix) - 1] + dot + suffix) if dot else name[:NAME_MAX]
    return name
