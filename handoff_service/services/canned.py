"""Canned replies: prepared answers agents insert by shortcut, in Chinese and in English.

Admins write them over the API; the operator imports a YAML file with the CLI
(``canned import``), which adds the shortcuts that are missing and never
overwrites one an admin has edited, so running it at every start is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from handoff_service import repository as repo
from handoff_service.errors import Conflict, RecordNotFound, ValidationFailed
from handoff_service.models import Agent, CannedReply, Language
from handoff_service.services.base import SYSTEM_ACTOR, ServiceBase, ensure_admin
from handoff_service.validation import (
    CannedReplyDraft,
    parse_canned_reply,
    parse_row_id,
    parse_shortcut,
)

# Who an import is written by, in ``updated_by``.
IMPORT_AUTHOR = "cli"


@dataclass(frozen=True)
class ImportResult:
    """What ``canned import`` did: shortcuts added, and those already there (left alone)."""

    added: list[str]
    kept: list[str]


def parse_language_filter(raw: Any) -> Language | None:
    """``?language=`` of the list: ``zh``, ``en``, or absent for both.

    Raises:
        ValidationFailed: another value.
    """
    if raw is None or raw == "":
        return None
    if raw not in [member.value for member in Language]:
        raise ValidationFailed("language", "language must be zh or en")
    return Language(raw)


class CannedReplies(ServiceBase):
    """Reading and writing canned replies."""

    def canned_replies(self, language: Any = None) -> list[CannedReply]:
        """Every canned reply (of ``language``, when given), by language and shortcut.

        Raises:
            ValidationFailed: a language other than zh or en.
        """
        return repo.list_canned_replies(self.session, parse_language_filter(language))

    def _reply(self, raw_id: Any) -> CannedReply:
        reply = repo.get_canned_reply(self.session, parse_row_id("id", raw_id))
        if reply is None:
            raise RecordNotFound(f"no canned reply {str(raw_id)[:20]!r}")
        return reply

    def add_canned_reply(self, actor: Agent, payload: Mapping[str, Any]) -> CannedReply:
        """An admin adds a canned reply.

        Raises:
            Forbidden: ``actor`` is not an admin.
            ValidationFailed: a missing or malformed field.
            Conflict: ``shortcut_taken`` in that language.
        """
        ensure_admin(actor, "change canned replies")
        draft = parse_canned_reply(payload)
        reply = self._insert(draft, actor.name)
        self._audit(None, actor.name, "canned_reply_added", shortcut=reply.shortcut)
        self.session.commit()
        return reply

    def _insert(self, draft: CannedReplyDraft, author: str) -> CannedReply:
        now = self.clock()
        reply = CannedReply(
            shortcut=draft.shortcut,
            language=draft.language,
            title=draft.title,
            text=draft.text,
            created_at=now,
            updated_at=now,
            updated_by=author,
        )
        try:
            return repo.add_canned_reply(self.session, reply)
        except IntegrityError:
            self.session.rollback()
            raise _taken(draft.shortcut, draft.language) from None

    def update_canned_reply(
        self, actor: Agent, raw_id: Any, payload: Mapping[str, Any]
    ) -> CannedReply:
        """An admin rewrites a canned reply (every field, as on creation).

        Raises:
            Forbidden: ``actor`` is not an admin.
            ValidationFailed: a malformed id, a missing or malformed field.
            RecordNotFound: no such canned reply.
            Conflict: ``shortcut_taken`` by another reply of that language.
        """
        ensure_admin(actor, "change canned replies")
        draft = parse_canned_reply(payload)
        reply = self._reply(raw_id)
        reply.shortcut = draft.shortcut
        reply.language = draft.language
        reply.title = draft.title
        reply.text = draft.text
        reply.updated_at = self.clock()
        reply.updated_by = actor.name
        try:
            self.session.flush()
        except IntegrityError:
            self.session.rollback()
            raise _taken(draft.shortcut, draft.language) from None
        self._audit(None, actor.name, "canned_reply_updated", shortcut=reply.shortcut)
        self.session.commit()
        return reply

    def delete_canned_reply(self, actor: Agent, raw_id: Any) -> None:
        """An admin deletes a canned reply.

        Raises:
            Forbidden: ``actor`` is not an admin.
            ValidationFailed: a malformed id.
            RecordNotFound: no such canned reply.
        """
        ensure_admin(actor, "change canned replies")
        reply = self._reply(raw_id)
        shortcut = reply.shortcut
        repo.delete_canned_reply(self.session, reply)
        self._audit(None, actor.name, "canned_reply_deleted", shortcut=shortcut)
        self.session.commit()

    def import_canned_replies(self, entries: Iterable[Mapping[str, Any]]) -> ImportResult:
        """Add the replies whose shortcut is missing in their language; never overwrite (the CLI).

        Every entry is checked before anything is written: a file with one bad
        entry changes nothing.

        Raises:
            ValidationFailed: an entry is malformed (``field`` says which, e.g. ``[3].text``),
                or names one shortcut twice in a language.
        """
        drafts: list[CannedReplyDraft] = []
        seen: set[tuple[str, Language]] = set()
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise ValidationFailed(f"[{index}]", f"entry {index} is not a mapping")
            try:
                draft = parse_canned_reply(entry)
            except ValidationFailed as exc:
                raise ValidationFailed(f"[{index}].{exc.field}", exc.detail) from None
            key = (draft.shortcut, draft.language)
            if key in seen:
                raise ValidationFailed(
                    f"[{index}].shortcut",
                    f"{draft.shortcut!r} ({draft.language.value}) is given twice",
                )
            seen.add(key)
            drafts.append(draft)
        result = ImportResult(added=[], kept=[])
        for draft in drafts:
            label = f"{draft.shortcut} ({draft.language.value})"
            existing = repo.get_canned_reply_by_shortcut(
                self.session, draft.shortcut, draft.language
            )
            if existing is not None:
                result.kept.append(label)
                continue
            self._insert(draft, IMPORT_AUTHOR)
            result.added.append(label)
        if result.added:
            self._audit(None, SYSTEM_ACTOR, "canned_replies_imported", added=len(result.added))
        self.session.commit()
        return result

    def remove_canned_reply(self, shortcut: Any, language: Any) -> CannedReply:
        """Delete the canned reply ``shortcut`` of ``language`` (the CLI).

        Raises:
            ValidationFailed: a malformed shortcut or language.
            RecordNotFound: no such canned reply.
        """
        name = parse_shortcut(shortcut)
        lang = parse_language_filter(language)
        if lang is None:
            raise ValidationFailed("language", "language is required (zh or en)")
        reply = repo.get_canned_reply_by_shortcut(self.session, name, lang)
        if reply is None:
            raise RecordNotFound(f"no canned reply {name!r} in {lang.value}")
        repo.delete_canned_reply(self.session, reply)
        self._audit(None, SYSTEM_ACTOR, "canned_reply_deleted", shortcut=name)
        self.session.commit()
        return reply


def _taken(shortcut: str, language: Language) -> Conflict:
    return Conflict(
        "shortcut_taken", f"a {language.value} canned reply called {shortcut!r} already exists"
    )
