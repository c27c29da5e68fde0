"""Reading an nginx configuration in tests: a small parser and what nginx would pick.

Shared by test_deploy_recipe.py (deploy/nginx/nginx.conf) and test_topology.py (a local
run's configuration): both are rendered by devtools.topology and must follow one rule set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The nginx directives that decide which requests go to a second replica.
RETRY_DIRECTIVES = ("proxy_next_upstream", "proxy_next_upstream_timeout",
                    "proxy_next_upstream_tries")


@dataclass
class Directive:
    """One nginx directive: its name, its arguments and, for a block, what it holds."""

    name: str
    args: list[str]
    children: list[Directive] = field(default_factory=list)

    def all(self, name: str) -> list[Directive]:
        return [child for child in self.children if child.name == name]

    def one(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[-1] if found else None


def parse_nginx(text: str) -> Directive:
    """A minimal nginx configuration parser: comments, quotes, blocks, directives."""
    tokens = re.findall(r"#[^\n]*|\"(?:\\.|[^\"])*\"|'(?:\\.|[^'])*'|[{};]|[^\s{};\"']+", text)
    root = Directive("main", [])
    stack = [root]
    words: list[str] = []
    for token in tokens:
        if token.startswith("#"):
            continue
        if token == ";":
            stack[-1].children.append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            block = Directive(words[0], words[1:])
            stack[-1].children.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token.strip("\"'") if token[0] in "\"'" else token)
    assert len(stack) == 1 and not words, "unbalanced braces"
    return root


def http_block(config: Directive) -> Directive:
    block = config.one("http")
    assert block is not None
    return block


def server_listening(config: Directive, listen: str) -> Directive:
    """The server block with ``listen`` (``host:port``, or a port alone)."""
    for server in http_block(config).all("server"):
        for directive in server.all("listen"):
            if listen in (directive.args[0], directive.args[0].rpartition(":")[2]):
                return server
    raise AssertionError(f"no server listens on {listen}")


def listen_port(server: Directive) -> int:
    directive = server.one("listen")
    assert directive is not None
    return int(directive.args[0].rpartition(":")[2])


def _proxies_to(server: Directive, path: str, name: str) -> bool:
    location = locate(server, path)
    proxy = location.one("proxy_pass")
    return proxy is not None and urlsplit(proxy.args[0]).hostname == name


def public_server(config: Directive) -> Directive:
    """The listener for browsers: the one that routes /api/ to the handoff services."""
    found = [s for s in http_block(config).all("server") if _proxies_to(s, "/api/x", "handoff")]
    assert len(found) == 1, "one public listener"
    return found[0]


def rasa_internal_server(config: Directive) -> Directive:
    """The handoff services' way to Rasa's API: everything to the Rasa replicas."""
    found = [s for s in http_block(config).all("server")
             if _proxies_to(s, "/conversations/c/trigger_intent", "rasa_api")
             and s is not public_server(config)]
    assert len(found) == 1, "one internal Rasa listener"
    return found[0]


def actions_internal_server(config: Directive) -> Directive:
    """Rasa's way to the action servers."""
    found = [s for s in http_block(config).all("server") if _proxies_to(s, "/webhook", "actions")]
    assert len(found) == 1, "one internal action server listener"
    return found[0]


def locate(server: Directive, path: str) -> Directive:
    """The location nginx picks for ``path``: exact, longest prefix (^~ stops), regex."""
    locations = server.all("location")
    for location in locations:
        if location.args[0] == "=" and location.args[1] == path:
            return location
    prefixes = [loc for loc in locations if len(loc.args) == 1 or loc.args[0] == "^~"]
    matching = [loc for loc in prefixes if path.startswith(loc.args[-1])]
    longest = max(matching, key=lambda loc: len(loc.args[-1]), default=None)
    if longest is not None and longest.args[0] == "^~":
        return longest
    for location in locations:
        if location.args[0] in ("~", "~*"):
            flags = re.IGNORECASE if location.args[0] == "~*" else 0
            if re.search(location.args[1], path, flags):
                return location
    assert longest is not None, f"nothing matches {path}"
    return longest


def _map_value(config: Directive, variable: str, key: str) -> str:
    """What ``map ... $variable`` gives for ``key`` (its default when no entry matches)."""
    for block in http_block(config).all("map"):
        if block.args[-1] == variable:
            entries = {d.name: d.args[0] for d in block.children}
            return entries.get(key, entries["default"])
    raise AssertionError(f"no map sets {variable}")


def upstream(config: Directive, location: Directive, key: str = "") -> Directive | None:
    """The upstream block ``location`` proxies to, None when it does not proxy.

    A ``proxy_pass`` through a variable is followed through its ``map``: ``key`` is the
    map's input (its default when empty).
    """
    proxy = location.one("proxy_pass")
    if proxy is None:
        return None
    name = urlsplit(proxy.args[0]).hostname or ""
    if name.startswith("$"):
        name = _map_value(config, name, key)
    for block in http_block(config).all("upstream"):
        if block.args[0] == name:
            return block
    raise AssertionError(f"no upstream {name}")


def servers_of(block: Directive) -> set[str]:
    return {d.args[0] for d in block.all("server")}


def effective(config: Directive, server: Directive, location: Directive,
              name: str) -> list[str] | None:
    """The arguments of directive ``name`` in force in ``location`` (nginx's inheritance:
    the innermost block that sets it wins, whole)."""
    for block in (location, server, http_block(config)):
        directive = block.one(name)
        if directive is not None:
            return directive.args
    return None


def _number_and_unit(pattern: str, value: str) -> tuple[int, str]:
    match = re.fullmatch(pattern, value)
    assert match is not None, f"cannot read {value!r}"
    return int(match.group(1)), match.group(2) or ""


def seconds(value: str) -> float:
    """An nginx time (``75s``, ``2m``, ``500ms``, ``75``) in seconds."""
    number, unit = _number_and_unit(r"(\d+)(ms|s|m)?", value)
    return number * {"ms": 0.001, "s": 1, "m": 60, "": 1}[unit]


def size_bytes(value: str) -> int:
    """An nginx size (``12m``, ``64k``, ``1024``) in bytes."""
    number, unit = _number_and_unit(r"(\d+)([kKmMgG]?)", value)
    return number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def header(location: Directive, name: str) -> str | None:
    for directive in location.all("proxy_set_header"):
        if directive.args[0].lower() == name.lower():
            return directive.args[1]
    return None


# The retry rule (docs/production.md, "Retries"), per location: which locations may send a
# non-idempotent request that already reached a replica to the next one.
REPEATS_HARMLESS = "non_idempotent"


def assert_retry_rule(config: Directive) -> None:
    """Every proxying location retries on a failed connection, within a bound shorter than
    any wait for an answer; only the chat's uploads and the two internal listeners resend
    a POST that reached a replica; the service's public API never does."""
    public = public_server(config)
    expectations = [
        (public, "/api/tickets/T-1/messages", False),
        (public, "/socket.io/?EIO=4&transport=polling", False),
        (public, "/widget/", False),
        (public, "/console/", False),
        (public, "/webhooks/socketio/attachments", True),
        (rasa_internal_server(config), "/conversations/c/trigger_intent", True),
        (actions_internal_server(config), "/webhook", True),
    ]
    for server, path, any_method in expectations:
        location = locate(server, path.partition("?")[0])
        assert location.one("proxy_pass") is not None, path
        rule = effective(config, server, location, "proxy_next_upstream")
        assert rule is not None, path
        # A connection that failed or timed out, or a replica that answered 502/503.
        assert {"error", "timeout", "http_502", "http_503"} <= set(rule), (path, rule)
        assert (REPEATS_HARMLESS in rule) is any_method, (path, rule)
        # Stated in the location itself, next to the comment that says why.
        assert location.one("proxy_next_upstream") is not None, path
        # "timeout" covers a slow answer too: the retry window must end before any
        # location's read timeout, so only a connection attempt is ever retried.
        within = effective(config, server, location, "proxy_next_upstream_timeout")
        assert within is not None and 0 < seconds(within[0]), path
        read = effective(config, server, location, "proxy_read_timeout") or ["60s"]
        assert seconds(within[0]) < seconds(read[0]), path
        tries = effective(config, server, location, "proxy_next_upstream_tries")
        assert tries is not None and int(tries[0]) >= 2, path
        connect = effective(config, server, location, "proxy_connect_timeout") or ["60s"]
        assert seconds(connect[0]) < seconds(within[0]), path
