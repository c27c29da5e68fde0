"""Build the Sanic application: settings, engine, sessions, dispatcher, routes."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime

from sanic import Sanic
from sqlalchemy.orm import Session

from handoff_service.activity import ActivitySink, RasaActivityRelay
from handoff_service.api import make_blueprint, register_cors, register_error_handlers
from handoff_service.attachment_retention import AttachmentRetention
from handoff_service.attachment_store import make_store
from handoff_service.background import wake_on_commit
from handoff_service.config import Settings
from handoff_service.db import make_engine, make_session_factory
from handoff_service.dispatcher import DispatchSettings, NotificationDispatcher
from handoff_service.image_screening import ImageScreener
from handoff_service.mail.outbox import EMAILS_QUEUED
from handoff_service.mail.sending import MailSender
from handoff_service.mail.wiring import build_email_dispatcher
from handoff_service.models import utc_now
from handoff_service.notification_outbox import NOTIFICATIONS_QUEUED, ClaimedNotification
from handoff_service.notifier import Notifier, RasaNotifier
from handoff_service.pages import add_page_routes
from handoff_service.services import HandoffService

logger = logging.getLogger(__name__)


def _give_up_recorder(
    clock: Callable[[], datetime],
) -> Callable[[Session, ClaimedNotification, str], None]:
    def record(session: Session, notification: ClaimedNotification, reason: str) -> None:
        HandoffService(session, clock).record_notification_failure(
            notification.ticket_id, notification.intent, reason
        )

    return record


def create_app(
    settings: Settings,
    notifier: Notifier | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    configure_logging: bool = False,
    mail_sender: MailSender | None = None,
    activity: ActivitySink | None = None,
) -> Sanic:
    """A new application on ``settings``.

    ``notifier`` defaults to the Rasa HTTP API at ``settings.rasa_url``; tests
    pass a fake. ``mail_sender`` defaults to the one ``settings.mail`` names
    (SMTP, or ``.eml`` files in a folder). ``activity`` (the assignee's typing
    and seen marks) defaults to the Rasa channel's ``agent_activity`` route at
    ``settings.rasa_url``, with ``settings.rasa_auth_token``. Each call makes an
    app with a unique name (Sanic keeps a registry of names), its own engine and
    its own session factory. The engine connects lazily, on the first request;
    so does the rate limiter
    (:func:`handoff_service.rate_limiting.rate_limits`). Served by several
    worker processes, each worker gets its own connections and runs its own
    background workers; they share the work through the database's row locks.

    Raises:
        ConfigError: a setting cannot be used (e.g. the output channel).
    """
    app = Sanic(f"handoff_{uuid.uuid4().hex}", configure_logging=configure_logging)
    # Images are the largest bodies; JSON routes check their own, smaller limit.
    app.config.REQUEST_MAX_SIZE = max(settings.max_body_bytes, settings.attachment_max_bytes)
    app.config.FALLBACK_ERROR_FORMAT = "json"

    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    delivery = (
        notifier
        if notifier is not None
        else RasaNotifier(
            settings.rasa_url,
            settings.rasa_auth_token,
            timeout=settings.notify_timeout_s,
            output_channel=settings.rasa_output_channel,
        )
    )
    dispatcher = NotificationDispatcher(
        sessions,
        delivery,
        clock,
        _give_up_recorder(clock),
        DispatchSettings(
            poll_interval_s=settings.notify_poll_s, max_backoff_s=settings.notify_max_backoff_s
        ),
    )
    wake_on_commit(sessions, NOTIFICATIONS_QUEUED, dispatcher)
    mailer = build_email_dispatcher(settings, sessions, clock, mail_sender)
    wake_on_commit(sessions, EMAILS_QUEUED, mailer)
    app.ctx.settings = settings
    app.ctx.engine = engine
    app.ctx.sessions = sessions
    app.ctx.clock = clock
    app.ctx.dispatcher = dispatcher
    app.ctx.mailer = mailer
    app.ctx.activity = (
        activity
        if activity is not None
        else RasaActivityRelay(settings.rasa_url, settings.rasa_auth_token)
    )
    app.ctx.screener = ImageScreener(settings.attachment_max_bytes)
    app.ctx.attachment_store = make_store(settings.attachment_store, settings.state_dir)
    retention = AttachmentRetention(
        sessions, clock, app.ctx.attachment_store, settings.attachment_retention_days
    )
    app.ctx.retention = retention

    built_in = os.getpid()

    @app.before_server_start
    async def own_connections(app: Sanic, _loop: object) -> None:
        # With several workers Sanic forks each one from the process that built
        # the app: a pooled connection inherited from it would be one socket
        # used by two processes. The worker starts with an empty pool instead,
        # leaving the parent's connections to the parent (close=False).
        if os.getpid() != built_in:
            app.ctx.engine.dispose(close=False)

    app.blueprint(make_blueprint())
    add_page_routes(app, settings)
    register_cors(app, settings.cors_origins)
    register_error_handlers(app)

    @app.after_server_start
    async def start_dispatcher(app: Sanic, _loop: object) -> None:
        app.ctx.dispatcher.start()

    @app.after_server_start
    async def start_mailer(app: Sanic, _loop: object) -> None:
        app.ctx.mailer.start()

    @app.after_server_start
    async def start_retention(app: Sanic, _loop: object) -> None:
        app.ctx.retention.start()

    @app.before_server_stop
    async def stop_retention(app: Sanic, _loop: object) -> None:
        await app.ctx.retention.stop()

    @app.before_server_stop
    async def stop_dispatcher(app: Sanic, _loop: object) -> None:
        await app.ctx.dispatcher.stop()

    @app.before_server_stop
    async def stop_mailer(app: Sanic, _loop: object) -> None:
        await app.ctx.mailer.stop()

    @app.after_server_stop
    async def release(app: Sanic, _loop: object) -> None:
        if isinstance(delivery, RasaNotifier):
            delivery.close()
        if isinstance(app.ctx.activity, RasaActivityRelay):
            app.ctx.activity.close()
        app.ctx.engine.dispose()

    return app
