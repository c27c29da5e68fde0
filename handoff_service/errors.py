"""The domain errors the use cases raise; the API maps each to one HTTP status.

They say what went wrong in the service's terms, never in HTTP's: the CLI
prints them, the API turns them into JSON errors
(:func:`handoff_service.api.error_handlers.register_error_handlers`).
"""

from __future__ import annotations


class HandoffError(Exception):
    """Base of the domain errors; ``detail`` is safe to show to the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TicketNotFound(HandoffError):
    """No ticket (or conversation ticket) with that reference.  HTTP 404.

    ``code`` tells a caller which kind of absence it met: ``not_found`` (no
    such ticket or message), ``no_open_ticket`` (the conversation has no
    ticket that is open or assigned).
    """

    def __init__(self, detail: str, code: str = "not_found") -> None:
        super().__init__(detail)
        self.code = code


class TicketConflict(HandoffError):
    """The request clashes with the ticket's state; ``code`` says how.  HTTP 409."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class RecordNotFound(HandoffError):
    """No agent, canned reply or other record with that id or name.  HTTP 404 ``not_found``."""


class Conflict(HandoffError):
    """The request clashes with stored data other than a ticket's state; ``code`` says how.

    HTTP 409 (a shortcut already taken, an agent disabling their own account,
    a transfer to an agent who is deactivated).
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class ValidationFailed(HandoffError):
    """A field of the input is missing or malformed.  HTTP 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NothingToUpdate(HandoffError):
    """An update that names no field it could change.  HTTP 400."""


class Unauthorized(HandoffError):
    """No valid credentials.  HTTP 401."""


class Forbidden(HandoffError):
    """Valid credentials of the wrong kind, or an agent's on a route for admins.  HTTP 403.

    The bot's token on an agent route, an agent's on a bot route, or an agent
    who is not an admin managing agents or canned replies.
    """


class RateLimited(HandoffError):
    """Too many requests of one kind from one party; retry in ``retry_after`` s.  HTTP 429."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ImageRejected(HandoffError):
    """An uploaded image was not accepted; ``code`` says why.

    ``image_refused`` (it shows a recovery phrase or a key: HTTP 422, with the
    ``kinds`` found), ``unsupported_image`` (not a PNG, JPEG or WebP, or
    damaged: 415), ``image_too_large`` (413), ``screening_failed`` (the image could
    not be read, or no OCR engine is installed: 503, nothing kept).
    """

    def __init__(self, code: str, detail: str, kinds: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.code = code
        self.kinds = kinds
