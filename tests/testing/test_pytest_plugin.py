"""The hookwire pytest plugin, run in fresh pytest processes (pytester)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:cacheprovider --strict-markers
"""

EVERY_FIXTURE = """
from hookwire import Receiver
from hookwire.testing import make_envelope, make_event

def test_secret_is_a_fresh_whsec(webhook_secret):
    assert webhook_secret.startswith("whsec_")

def test_signer_signs_with_the_secret(webhook_signer, webhook_secret):
    request = webhook_signer.request(make_envelope("COURSE_ENROLLMENT"))
    Receiver(secret=webhook_secret).verify(request.body, request.headers)
    assert "wrong-secret" in webhook_signer.tamperings
    bad = webhook_signer.tampered("stale", make_envelope("COURSE_ENROLLMENT"))
    assert bad.timestamp < request.timestamp

def test_sender_delivers_to_the_target(hookwire_sender, webhook_target):
    hookwire_sender.webhook_to(webhook_target, events=["COURSE_COMPLETED"])
    data = make_event("COURSE_COMPLETED")["data"]
    hookwire_sender.publish("COURSE_COMPLETED", data=data, account_id=1010, event_id="e1")
    hookwire_sender.deliver_now()
    webhook_target.assert_received(["e1"])
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


def test_every_fixture_works_in_a_users_test_run(project: pytest.Pytester) -> None:
    project.makepyfile(EVERY_FIXTURE)
    project.runpytest_subprocess().assert_outcomes(passed=3)


def test_failed_assertion_prints_the_readable_message(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from hookwire.testing import make_event

        def test_lost_event(hookwire_sender, webhook_target):
            hookwire_sender.webhook_to(webhook_target, events=["COURSE_COMPLETED"])
            data = make_event("COURSE_COMPLETED")["data"]
            hookwire_sender.publish("COURSE_COMPLETED", data=data, account_id=1010, event_id="e1")
            hookwire_sender.deliver_now()
            webhook_target.assert_received(["e1", "e2"])
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: the target did not receive*missing: e2*"])


def test_target_is_stopped_after_the_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import urllib.request, urllib.error, pytest
        urls = []

        def test_one(webhook_target):
            urls.append(webhook_target.url)

        def test_two():
            with pytest.raises(urllib.error.URLError):
                urllib.request.urlopen(urls[0], data=b"{}", timeout=2)
        """
    )
    project.runpytest_subprocess().assert_outcomes(passed=2)


def test_plugin_can_be_turned_off(project: pytest.Pytester) -> None:
    project.makepyfile("def test_it(webhook_secret):\n    pass\n")
    result = project.runpytest_subprocess("-p", "no:hookwire")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'webhook_secret' not found*"])


def test_postgres_marker_skips_without_a_url(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOKWIRE_TEST_POSTGRES_URL", raising=False)
    project.makepyfile(
        """
        import pytest

        @pytest.mark.hookwire_postgres
        def test_it(hookwire_sender):
            pass

        @pytest.mark.hookwire_postgres
        def test_without_the_sender_fixture():
            pass
        """
    )
    result = project.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*no PostgreSQL URL: pass --hookwire-postgres URL*"])


@pytest.mark.postgres
def test_sender_runs_on_postgres_in_a_schema_of_its_own(
    project: pytest.Pytester, postgres_url: str
) -> None:
    project.makepyfile(
        """
        import pytest
        from hookwire.testing import make_event

        @pytest.mark.hookwire_postgres
        @pytest.mark.parametrize("run", [1, 2])
        def test_delivers(hookwire_sender, webhook_target, run):
            assert hookwire_sender.webhooks.list() == []  # nothing left by the other run
            hookwire_sender.webhook_to(webhook_target)
            data = make_event("COURSE_COMPLETED")["data"]
            hookwire_sender.publish("COURSE_COMPLETED", data=data, account_id=1010, event_id="pg")
            hookwire_sender.deliver_now()
            webhook_target.assert_received(["pg"])
            assert hookwire_sender._store.engine.dialect.name == "postgresql"
        """
    )
    result = project.runpytest_subprocess("--hookwire-postgres", postgres_url)
    result.assert_outcomes(passed=2)
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as connection:
        left = connection.execute(
            sqlalchemy.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'hookwire_test_%'")
        ).all()
    engine.dispose()
    assert left == []


def run_without(project: pytest.Pytester, *blocked: str) -> pytest.RunResult:
    """Run pytest with ``blocked`` top-level packages unimportable, as in a project without them.

    The project's conftest puts None in ``sys.modules`` for each, which makes
    their import fail with ModuleNotFoundError, once pytest has set itself up.
    """
    lines = [f"sys.modules[{name!r}] = None" for name in blocked]
    project.makeconftest("import sys\n" + "\n".join(lines) + "\n")
    return project.runpytest_subprocess("-p", "no:pytest_httpserver")


def test_plugin_loads_without_pytest_httpserver(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_secret(webhook_secret):
            assert webhook_secret

        def test_target(webhook_target):
            pass
        """
    )
    result = run_without(project, "pytest_httpserver")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*WebhookTarget needs the 'testing' extra: pip install 'hookwire?testing?'*"]
    )
    result.stdout.no_fnmatch_line("*The above exception*")


def test_sender_fixture_without_the_sender_extra_names_it(project: pytest.Pytester) -> None:
    project.makepyfile("def test_sender(hookwire_sender):\n    pass\n")
    result = run_without(project, "aiohttp", "sqlalchemy")
    result.assert_outcomes(errors=1)
    result.stdout.re_match_lines(
        [re.escape("hookwire.testing.TestingSender needs the 'sender' extra: ")]
    )
    result.stdout.no_fnmatch_line("*The above exception*")
