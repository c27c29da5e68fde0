"""HTTP edge of the service: parse requests, authenticate, call the services, map errors.

One module per job:

- :mod:`.bot_routes`, :mod:`.agent_routes`, :mod:`.attachment_routes`, :mod:`.health`,
  :mod:`.workspace_routes`: the routes, by caller (screenshots, and the agents'
  workspace around tickets with the public queue estimate, have their own modules);
- :mod:`.auth`: who is calling (bot token or agent token);
- :mod:`.context`: a unit of work per request, the use cases, the clock;
- :mod:`.body`, :mod:`.query`: reading JSON bodies and query arguments;
- :mod:`.serializers`, :mod:`.responses`: the JSON that goes back;
- :mod:`.error_handlers`: domain exceptions become status codes here and nowhere else;
- :mod:`.cors`: calls from the pages of other origins.

Handlers stay thin: validation is :mod:`handoff_service.validation`, the
rules are :mod:`handoff_service.services`.
"""

from __future__ import annotations

from sanic import Blueprint

from handoff_service.api.agent_routes import add_agent_routes
from handoff_service.api.attachment_routes import add_attachment_routes
from handoff_service.api.bot_routes import add_bot_routes
from handoff_service.api.cors import register_cors
from handoff_service.api.error_handlers import register_error_handlers
from handoff_service.api.health import add_health_route
from handoff_service.api.workspace_routes import add_workspace_routes

__all__ = ["make_blueprint", "register_cors", "register_error_handlers"]


def make_blueprint() -> Blueprint:
    """The JSON API under ``/api`` (a fresh blueprint per app)."""
    bp = Blueprint("handoff_api", url_prefix="/api")
    add_health_route(bp)
    add_bot_routes(bp)
    add_agent_routes(bp)
    add_attachment_routes(bp)
    add_workspace_routes(bp)
    return bp
