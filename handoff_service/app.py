"""Build the Sanic application: settings, engine, sessions, notifier, routes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sanic import Sanic
from sqlalchemy.orm import sessionmaker

from handoff_service.api import make_blueprint, register_cors, register_error_handlers
from handoff_service.config import Settings
from handoff_service.db import make_engine, make_session_factory
from handoff_service.models import utc_now
from handoff_service.notifier import Notification, NotificationQueue, Notifier, RasaNotifier
from handoff_service.pages import add_page_routes
from handoff_service.services import HandoffService

logger = logging.getLogger(__name__)


def _failure_recorder(
    sessions: sessionmaker, clock: Callable[[], datetime]
) -> Callable[[Notification, str], None]:
    def record(notification: Notification, reason: str) -> None:
        with sessions() as session:
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
) -> Sanic:
    """A new application on ``settings``.

    ``notifier`` defaults to the Rasa HTTP API at ``settings.rasa_url``; tests
    pass a fake. Each call makes an app with a unique name (Sanic keeps a
    registry of names), its own engine and its own session factory. The
    engine connects lazily, on the first request; so does the rate limiter
    (:func:`handoff_service.rate_limiting.rate_limits`).

    Raises:
        ConfigError: a setting cannot be used (e.g. the output channel).
    """
    app = Sanic(f"handoff_{uuid.uuid4().hex}", configure_logging=configure_logging)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
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
    app.ctx.settings = settings
    app.ctx.engine = engine
    app.ctx.sessions = sessions
    app.ctx.clock = clock
    app.ctx.notifications = NotificationQueue(delivery, _failure_recorder(sessions, clock))

    app.blueprint(make_blueprint())
    add_page_routes(app, settings)
    register_cors(app, settings.cors_origins)
    register_error_handlers(app)

    @app.after_server_start
    async def start_notifications(app: Sanic, _loop: object) -> None:
        app.ctx.notifications.start()

    @app.before_server_stop
    async def stop_notifications(app: Sanic, _loop: object) -> None:
        await app.ctx.notifications.stop()

    @app.after_server_stop
    async def release(app: Sanic, _loop: object) -> None:
        if isinstance(delivery, RasaNotifier):
            delivery.close()
        app.ctx.engine.dispose()

    return app
