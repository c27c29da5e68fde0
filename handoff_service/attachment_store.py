"""Where accepted screenshots' bytes live: files under the state folder, or the database.

The file store suits one process on one machine (``make run``); with several
replicas every one must serve every image, so the production profile keeps
the bytes in the shared database (``attachment_blobs``). Both are reached
through the same small interface, inside the caller's unit of work.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from handoff_service import repository as repo
from handoff_service.attachment_ids import is_attachment_id


class AttachmentStore(Protocol):
    """Keeps an attachment's image and thumbnail under its id."""

    def put(self, session: Session, attachment_id: str, data: bytes, thumbnail: bytes) -> None:
        """Store both, before the row's transaction commits."""

    def get(self, session: Session, attachment_id: str, thumbnail: bool) -> bytes | None:
        """The image (or its thumbnail); ``None`` when it is gone."""

    def delete(self, attachment_ids: list[str]) -> None:
        """Remove the bytes of rows that were deleted (idempotent)."""


class FileStore:
    """Files ``<root>/<2 chars>/<id>`` and ``<id>.thumb``, readable by the owner only."""

    def __init__(self, root: Path) -> None:
        """Keep files under ``root`` (created on first write)."""
        self.root = root

    def _path(self, attachment_id: str, thumbnail: bool) -> Path:
        if not is_attachment_id(attachment_id):
            # Ids come from the database, never from a request; this is belt and braces
            # against a path built from anything else.
            raise ValueError("not an attachment id")
        name = attachment_id + (".thumb" if thumbnail else "")
        return self.root / attachment_id[4:6] / name

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written under a temporary name and renamed: a reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def put(self, session: Session, attachment_id: str, data: bytes, thumbnail: bytes) -> None:
        """Write both files (the row commits after them: no row without its bytes)."""
        self._write(self._path(attachment_id, False), data)
        self._write(self._path(attachment_id, True), thumbnail)

    def get(self, session: Session, attachment_id: str, thumbnail: bool) -> bytes | None:
        """Read a file; ``None`` if it was deleted."""
        try:
            return self._path(attachment_id, thumbnail).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, attachment_ids: list[str]) -> None:
        """Remove the files of these ids."""
        for attachment_id in attachment_ids:
            for thumbnail in (False, True):
                with contextlib.suppress(FileNotFoundError, ValueError):
                    self._path(attachment_id, thumbnail).unlink()


class DatabaseStore:
    """Rows of ``attachment_blobs``, in the same transaction as the attachment."""

    def put(self, session: Session, attachment_id: str, data: bytes, thumbnail: bytes) -> None:
        """Add the blob row."""
        repo.add_blob(session, attachment_id, data, thumbnail)

    def get(self, session: Session, attachment_id: str, thumbnail: bool) -> bytes | None:
        """Read the blob row."""
        return repo.get_blob(session, attachment_id, thumbnail)

    def delete(self, attachment_ids: list[str]) -> None:
        """Nothing to do: the rows went with their attachments (cascade)."""


def make_store(kind: str, state_dir: Path) -> AttachmentStore:
    """The store ``kind`` names (``files`` or ``database``)."""
    if kind == "database":
        return DatabaseStore()
    return FileStore(state_dir / "attachments")
