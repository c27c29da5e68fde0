"""The production profile's rules, one by one: each refusal names the setting to change.

The rules are pure functions of the environment (and of Rasa's endpoints), so
every rule is checked here without starting a server; the last test starts
the Rasa wrapper for real to show the rules run before Rasa does.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.production_checks import action_server_problems, action_server_warnings
from addons import production_checks as rasa_rules
from addons.server import endpoints_path, production_findings, refuse_unfit_production
from handoff_service.cli import check_workers
from handoff_service.config import ConfigError, Settings
from handoff_service.production_checks import (
    environment_problems,
    environment_warnings,
    schema_problem,
)
from support_core.production import (
    EXIT_REFUSED,
    Problem,
    is_production,
    rate_limit_storage_problem,
    report,
)

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql://support@db.internal:5432/handoff"
REDIS = "redis://redis.internal:6379/2"

SERVICE_ENV = {
    "PROFILE": "production",
    "HANDOFF_DATABASE_URL": PG,
    "HANDOFF_BOT_TOKEN": "a-long-shared-bot-token",
    "RATE_LIMIT_STORAGE_URL": REDIS,
    "HANDOFF_ATTACHMENT_STORE": "database",
    "RASA_AUTH_TOKEN": "rasa-token",
    "SMTP_HOST": "smtp.internal",
}
RASA_ENV = {
    "PROFILE": "production",
    "TRACKER_STORE_URL": "postgresql://support@db.internal:5432/tracker",
    "RASA_AUTH_TOKEN": "rasa-token",
    "CHAT_SESSION_SECRET": "a-session-secret-of-32-characters",
    "SOCKETIO_REDIS_URL": "redis://redis.internal:6379/3",
    "RATE_LIMIT_STORAGE_URL": REDIS,
    "HANDOFF_URL": "http://handoff.internal:8000",
    "HANDOFF_BOT_TOKEN": "a-long-shared-bot-token",
}
ACTIONS_ENV = {
    "PROFILE": "production",
    "HANDOFF_URL": "http://handoff.internal:8000",
    "HANDOFF_BOT_TOKEN": "a-long-shared-bot-token",
    "OUTBOX_URL": "postgresql://wallet:pw@db.internal:5432/outbox",
}


def _endpoints(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text())  # type: ignore[no-any-return]


PRODUCTION_ENDPOINTS = _endpoints("endpoints.production.yml")
DEVELOPMENT_ENDPOINTS = _endpoints("endpoints.yml")
SHARED_LOCKS = {
    **PRODUCTION_ENDPOINTS,
    "lock_store": {**PRODUCTION_ENDPOINTS["lock_store"], "url": "redis.internal"},
}


def _without(env: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in env.items() if key != name}


def _variables(problems: list[Problem]) -> list[str]:
    return [problem.variable for problem in problems]


# ---------------------------------------------------------------- the profile


@pytest.mark.parametrize("value", ["production", "Production", " production "])
def test_production_is_chosen_by_profile(value: str) -> None:
    assert is_production({"PROFILE": value})


@pytest.mark.parametrize("env", [{}, {"PROFILE": ""}, {"PROFILE": "development"},
                                 {"PROFILE": "prod"}, {"PROFILE": "staging"}])
def test_anything_else_is_the_development_profile(env: dict[str, str]) -> None:
    assert not is_production(env)


@pytest.mark.parametrize("url", ["", "memory://", "memory:///"])
def test_rate_limits_in_memory_are_a_problem(url: str) -> None:
    problem = rate_limit_storage_problem({"RATE_LIMIT_STORAGE_URL": url})
    assert problem is not None and problem.variable == "RATE_LIMIT_STORAGE_URL"
    assert "RATE_LIMIT_STORAGE_URL" in problem.message


@pytest.mark.parametrize("url", [REDIS, "rediss://cache:6380/0", "redis+sentinel://s:26379/m"])
def test_rate_limits_in_redis_are_fine(url: str) -> None:
    assert rate_limit_storage_problem({"RATE_LIMIT_STORAGE_URL": url}) is None


def test_a_report_is_one_line_per_finding_warnings_first() -> None:
    out = io.StringIO()
    report([Problem("A", "A is wrong"), Problem("B", "B is wrong")], [Problem("C", "C?")], out)
    assert out.getvalue().splitlines() == ["warning: C?", "error: A is wrong", "error: B is wrong"]


# ---------------------------------------------------------------- the handoff service


def test_a_complete_service_configuration_passes() -> None:
    assert environment_problems(SERVICE_ENV) == []
    assert environment_warnings(SERVICE_ENV) == []


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"HANDOFF_DATABASE_URL": ""}, "HANDOFF_DATABASE_URL"),
        ({"HANDOFF_DATABASE_URL": "sqlite:///state/handoff.db"}, "HANDOFF_DATABASE_URL"),
        ({"HANDOFF_DATABASE_URL": "sqlite://"}, "HANDOFF_DATABASE_URL"),
        ({"HANDOFF_DATABASE_URL": "not a url"}, "HANDOFF_DATABASE_URL"),
        ({"HANDOFF_BOT_TOKEN": ""}, "HANDOFF_BOT_TOKEN"),
        ({"HANDOFF_BOT_TOKEN": "   "}, "HANDOFF_BOT_TOKEN"),
        ({"RATE_LIMIT_STORAGE_URL": ""}, "RATE_LIMIT_STORAGE_URL"),
        ({"RATE_LIMIT_STORAGE_URL": "memory://"}, "RATE_LIMIT_STORAGE_URL"),
        ({"HANDOFF_ATTACHMENT_STORE": ""}, "HANDOFF_ATTACHMENT_STORE"),
        ({"HANDOFF_ATTACHMENT_STORE": "files"}, "HANDOFF_ATTACHMENT_STORE"),
    ],
)
def test_each_service_rule_refuses_and_names_its_variable(
    change: dict[str, str], variable: str
) -> None:
    problems = environment_problems({**SERVICE_ENV, **change})
    assert _variables(problems) == [variable]
    assert variable in problems[0].message


def test_an_empty_environment_lists_every_service_problem_at_once() -> None:
    assert _variables(environment_problems({"PROFILE": "production"})) == [
        "HANDOFF_DATABASE_URL", "HANDOFF_BOT_TOKEN", "RATE_LIMIT_STORAGE_URL",
        "HANDOFF_ATTACHMENT_STORE",
    ]


@pytest.mark.parametrize("variable", ["RASA_AUTH_TOKEN", "SMTP_HOST"])
def test_service_settings_that_only_warn(variable: str) -> None:
    env = _without(SERVICE_ENV, variable)
    assert environment_problems(env) == []
    assert _variables(environment_warnings(env)) == [variable]


def test_the_schema_must_be_at_the_newest_migration() -> None:
    assert schema_problem("0006", "0006") is None
    empty = schema_problem(None, "0006")
    behind = schema_problem("0005", "0006")
    assert empty is not None and behind is not None
    for problem in (empty, behind):
        assert "`handoff-service db upgrade`" in problem.message
        assert problem.variable == "HANDOFF_DATABASE_URL"
    assert "0005" in behind.message and "0006" in behind.message


def test_workers_come_from_the_environment_within_bounds() -> None:
    assert Settings.from_env({}).workers == 1
    assert Settings.from_env({"HANDOFF_WORKERS": "4"}).workers == 4
    for bad in ("0", "65", "two"):
        with pytest.raises(ConfigError, match="HANDOFF_WORKERS"):
            Settings.from_env({"HANDOFF_WORKERS": bad})


def test_several_workers_need_postgresql_in_every_profile() -> None:
    check_workers(Settings(database_url="sqlite:///state/handoff.db", workers=1))
    check_workers(Settings(database_url=PG, workers=8))
    with pytest.raises(ConfigError, match="HANDOFF_WORKERS"):
        check_workers(Settings(database_url="sqlite:///state/handoff.db", workers=2))


# ---------------------------------------------------------------- the Rasa server


def test_the_production_endpoints_with_shared_stores_pass() -> None:
    assert rasa_rules.rasa_server_problems(RASA_ENV, PRODUCTION_ENDPOINTS) == []
    assert rasa_rules.rasa_server_warnings(RASA_ENV, SHARED_LOCKS) == []


def test_the_development_endpoints_are_refused() -> None:
    problems = rasa_rules.rasa_server_problems(RASA_ENV, DEVELOPMENT_ENDPOINTS, "endpoints.yml")
    assert _variables(problems) == ["lock_store"]
    assert "endpoints.yml" in problems[0].message and "in_memory" in problems[0].message


@pytest.mark.parametrize(
    "variable",
    ["RASA_AUTH_TOKEN", "CHAT_SESSION_SECRET", "SOCKETIO_REDIS_URL", "RATE_LIMIT_STORAGE_URL",
     "TRACKER_STORE_URL"],
)
def test_each_rasa_variable_is_required(variable: str) -> None:
    problems = rasa_rules.rasa_server_problems(_without(RASA_ENV, variable), PRODUCTION_ENDPOINTS)
    assert _variables(problems) == [variable]
    assert variable in problems[0].message


@pytest.mark.parametrize(
    ("env_url", "tracker_store", "variable"),
    [
        ("sqlite:///state/tracker.db", None, "TRACKER_STORE_URL"),
        ("", {"type": rasa_rules.URL_SQL_TRACKER_STORE, "url": "sqlite:///t.db"},
         "TRACKER_STORE_URL"),
        ("", {"type": "sql"}, "tracker_store"),
        ("", {"type": "sql", "dialect": "sqlite", "db": "t.db"}, "tracker_store"),
        ("", {"type": "redis", "url": "redis.internal"}, "tracker_store"),
        ("", {}, "tracker_store"),
    ],
)
def test_conversations_must_be_in_shared_sql(
    env_url: str, tracker_store: dict[str, str] | None, variable: str
) -> None:
    endpoints = dict(PRODUCTION_ENDPOINTS)
    if tracker_store is not None:
        endpoints["tracker_store"] = tracker_store
    env = {**RASA_ENV, "TRACKER_STORE_URL": env_url}
    assert _variables(rasa_rules.rasa_server_problems(env, endpoints)) == [variable]


@pytest.mark.parametrize(
    "tracker_store",
    [
        {"type": rasa_rules.URL_SQL_TRACKER_STORE, "url": "postgresql://db.internal/tracker"},
        {"type": "sql", "dialect": "postgresql", "url": "db.internal", "db": "tracker"},
    ],
)
def test_sql_on_postgresql_in_the_endpoints_file_is_fine(tracker_store: dict[str, str]) -> None:
    endpoints = {**PRODUCTION_ENDPOINTS, "tracker_store": tracker_store}
    env = _without(RASA_ENV, "TRACKER_STORE_URL")
    assert rasa_rules.rasa_server_problems(env, endpoints) == []


@pytest.mark.parametrize("lock_store", [None, {"type": "in_memory"}, {}])
def test_a_lock_store_in_memory_is_refused(lock_store: dict[str, str] | None) -> None:
    endpoints = {key: value for key, value in PRODUCTION_ENDPOINTS.items() if key != "lock_store"}
    if lock_store is not None:
        endpoints["lock_store"] = lock_store
    assert _variables(rasa_rules.rasa_server_problems(RASA_ENV, endpoints)) == ["lock_store"]


@pytest.mark.parametrize("kind", ["redis", "addons.lock_store.RenewingRedisLockStore"])
@pytest.mark.parametrize("url", ["localhost", "127.0.0.1", None])
def test_a_lock_store_on_this_machine_only_warns(kind: str, url: str | None) -> None:
    # Fine for replicas on one host (endpoints.production.yml), wrong across hosts.
    lock_store = {"type": kind, **({"url": url} if url else {})}
    endpoints = {**PRODUCTION_ENDPOINTS, "lock_store": lock_store}
    assert rasa_rules.rasa_server_problems(RASA_ENV, endpoints) == []
    assert _variables(rasa_rules.rasa_server_warnings(RASA_ENV, endpoints)) == ["lock_store"]


def test_rasa_settings_that_only_warn() -> None:
    env = _without(_without(RASA_ENV, "HANDOFF_URL"), "HANDOFF_BOT_TOKEN")
    assert rasa_rules.rasa_server_problems(env, SHARED_LOCKS) == []
    assert _variables(rasa_rules.rasa_server_warnings(env, SHARED_LOCKS)) == [
        "HANDOFF_URL", "HANDOFF_BOT_TOKEN"
    ]


def test_the_rules_name_the_tracker_store_as_addons_does() -> None:
    from addons.tracker_store import TRACKER_STORE_URL_ENV, UrlSQLTrackerStore

    assert rasa_rules.TRACKER_STORE_URL_ENV == TRACKER_STORE_URL_ENV
    store = f"{UrlSQLTrackerStore.__module__}.{UrlSQLTrackerStore.__qualname__}"
    assert rasa_rules.URL_SQL_TRACKER_STORE == store


# ---------------------------------------------------------------- the action server


def test_the_action_server_needs_the_service_and_a_shared_outbox() -> None:
    assert action_server_problems(ACTIONS_ENV) == []
    assert action_server_warnings(ACTIONS_ENV) == []
    for variable in ("HANDOFF_URL", "HANDOFF_BOT_TOKEN"):
        problems = action_server_problems(_without(ACTIONS_ENV, variable))
        assert _variables(problems) == [variable] and variable in problems[0].message
    # postgres:// (what some hosting services hand out) is PostgreSQL too.
    heroku = {**ACTIONS_ENV, "OUTBOX_URL": "postgres://u:p@db.internal/outbox"}
    assert action_server_problems(heroku) == []


@pytest.mark.parametrize(("outbox", "shown"), [
    ({}, "state/outbox.db"),
    ({"OUTBOX_PATH": "/data/outbox.db"}, "OUTBOX_PATH=/data/outbox.db"),
    ({"OUTBOX_URL": "sqlite:////data/o.db"}, "/data/o.db"),
    ({"OUTBOX_URL": "  "}, "state/outbox.db"),
])
def test_the_action_server_refuses_a_local_sqlite_outbox(
    outbox: dict[str, str], shown: str
) -> None:
    env = {**_without(ACTIONS_ENV, "OUTBOX_URL"), **outbox}
    problems = action_server_problems(env)
    assert _variables(problems) == ["OUTBOX_URL"]
    assert shown in problems[0].message and "postgresql://" in problems[0].message
    assert "\n" not in problems[0].message
    assert action_server_warnings(env) == []


@pytest.mark.parametrize("url", ["mysql://u:secret@db/outbox", "not a url", "sqlite://"])
def test_the_action_server_refuses_an_outbox_url_it_cannot_use_without_printing_it(
    url: str,
) -> None:
    problems = action_server_problems({**ACTIONS_ENV, "OUTBOX_URL": url})
    assert _variables(problems) == ["OUTBOX_URL"]
    assert "secret" not in problems[0].message


# ---------------------------------------------------------------- the Rasa wrapper


def test_the_wrapper_finds_the_endpoints_file_as_rasa_would() -> None:
    assert endpoints_path(["run", "--model", "m.tar.gz"]) == "endpoints.yml"
    assert endpoints_path(["run", "--endpoints", "e.yml", "--port", "1"]) == "e.yml"
    assert endpoints_path(["run", "--endpoints=x/e.yml"]) == "x/e.yml"


def test_the_wrapper_checks_nothing_in_development_or_for_other_commands() -> None:
    empty = {"PROFILE": "development"}
    assert production_findings(["run", "--endpoints", "endpoints.yml"], empty) == ([], [])
    assert production_findings(["run", "actions"], {}) == ([], [])
    assert production_findings(["train"], {"PROFILE": "production"}) == ([], [])


def test_the_wrapper_reads_the_endpoints_file_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    run = ["run", "--endpoints", "endpoints.production.yml"]
    assert production_findings(run, RASA_ENV)[0] == []
    dev = production_findings(["run", "--endpoints", "endpoints.yml"], RASA_ENV)[0]
    assert _variables(dev) == ["lock_store"]
    missing = production_findings(["run", "--endpoints", str(tmp_path / "none.yml")], RASA_ENV)
    assert _variables(missing[0]) == ["tracker_store", "lock_store"]
    unset_var = tmp_path / "e.yml"
    unset_var.write_text("lock_store:\n  type: redis\n  url: ${NO_SUCH_VARIABLE_IN_TESTS}\n")
    monkeypatch.delenv("NO_SUCH_VARIABLE_IN_TESTS", raising=False)
    broken = production_findings(["run", "--endpoints", str(unset_var)], RASA_ENV)[0]
    assert _variables(broken)[0] == "--endpoints"


def test_the_wrapper_refuses_with_status_2_and_one_line_per_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with pytest.raises(SystemExit) as refused:
        refuse_unfit_production(["run", "actions"], {"PROFILE": "production"}, out)
    assert refused.value.code == EXIT_REFUSED
    errors = [line for line in out.getvalue().splitlines() if line.startswith("error: ")]
    assert [line.split()[1] for line in errors] == ["HANDOFF_URL", "HANDOFF_BOT_TOKEN",
                                                    "OUTBOX_URL"]
    assert len(errors) == 3 and errors[2].startswith("error: OUTBOX_URL is not set")
    # A shared outbox: nothing to say, the start goes on.
    out = io.StringIO()
    refuse_unfit_production(["run", "actions"], ACTIONS_ENV, out)
    assert out.getvalue() == ""


@pytest.mark.integration
def test_rasa_refuses_to_start_before_loading_anything(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if key not in RASA_ENV and not key.startswith(("HANDOFF_", "RASA_"))}
    env.update(PROFILE="production", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "addons.server", "run", "--model", str(tmp_path / "none.tar.gz"),
         "--endpoints", str(ROOT / "endpoints.production.yml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == EXIT_REFUSED
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split()[1] for line in errors] == [
        "TRACKER_STORE_URL", "RASA_AUTH_TOKEN", "CHAT_SESSION_SECRET", "SOCKETIO_REDIS_URL",
        "RATE_LIMIT_STORAGE_URL",
    ]
    assert "Starting Rasa server" not in result.stderr + result.stdout
