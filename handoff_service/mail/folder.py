"""Writing e-mails as ``.eml`` files into a folder, when no SMTP server is configured.

For a laptop or a test set-up: every e-mail the service would send can be
opened in a mail program. The files hold addresses and what agents wrote, so
the folder and each file are for the owner only, and a file appears whole
(written under a temporary name, then renamed) or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

from handoff_service.mail.sending import SendFailed

FOLDER_MODE = 0o700
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._@-]", re.ASCII)


def file_name(message: EmailMessage) -> str:
    """The file an e-mail goes to: from its Message-ID, so a resent e-mail replaces itself."""
    raw = str(message["Message-ID"] or "").strip("<> ")
    name = _UNSAFE_NAME_RE.sub("_", raw).lstrip(".")
    if not name:
        raise SendFailed("the e-mail has no Message-ID", permanent=True)
    return f"{name[:200]}.eml"


class FolderSender:
    """Writes each e-mail to ``<folder>/<message id>.eml`` (mode 0600)."""

    def __init__(self, folder: Path) -> None:
        """Write into ``folder``, created owner-only on the first e-mail."""
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        """Write ``message``; raises :class:`SendFailed` when the file cannot be written."""
        await asyncio.to_thread(self.write, message)

    def write(self, message: EmailMessage) -> Path:
        """Write ``message`` atomically; returns the file's path."""
        target = self.folder / file_name(message)
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            self.folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
            # mkstemp creates the file 0600, so no moment exists at which it is open to others.
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        except OSError as exc:
            raise SendFailed(f"cannot write to the mail folder ({type(exc).__name__})") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes(policy=policy.SMTP))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise SendFailed(f"cannot write to the mail folder ({type(exc).__name__})") from None
        return target
