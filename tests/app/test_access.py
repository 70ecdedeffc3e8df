"""The password gate slows guessing down: a wait that doubles after a few wrong tries, per client."""
from __future__ import annotations

import pytest

from tests.app.helpers import app, assert_healthy, metric, texts
from ui.access import THROTTLE, Throttle, access_token, cookie_script, token_valid


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_starts_after_the_free_tries_and_doubles_up_to_the_cap():
    clock = Clock()
    brake = Throttle(free=3, base=2.0, most=10.0, clock=clock)
    assert [brake.failed("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert brake.failed("a") == 2.0 and brake.wait("a") == 2.0
    assert brake.wait("b") == 0.0                       # another client is not slowed
    clock.now += 2.0
    assert brake.wait("a") == 0.0 and brake.failed("a") == 4.0
    clock.now += 4.0
    assert brake.failed("a") == 8.0
    clock.now += 8.0
    assert brake.failed("a") == 10.0                     # capped
    brake.succeeded("a")
    assert brake.wait("a") == 0.0 and brake.failed("a") == 0.0   # signing in clears the count


@pytest.fixture()
def fresh_brake():
    THROTTLE._records.clear()
    yield
    THROTTLE._records.clear()


@pytest.mark.parametrize("language, wait_words", [("en-US", "try again in"), ("zh-CN", "秒后再试")])
def test_after_three_wrong_passwords_even_the_right_one_waits(monkeypatch, fresh_brake, language, wait_words):
    monkeypatch.setenv("CRM_PASSWORD", "s3cret")
    at = app(locale=language)
    for _ in range(3):
        at.text_input[0].input("guess")
        at.button[0].click().run()
        assert wait_words not in texts(at)
    at.text_input[0].input("guess")
    at.button[0].click().run()
    assert wait_words in texts(at)                         # the fourth wrong try imposes a wait
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert wait_words in texts(at) and not at.metric       # refused unread while the wait runs
    THROTTLE._records.clear()                              # the wait is over
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert_healthy(at)
    assert at.metric and metric(at, at.metric[0].label)


def test_the_sign_in_cookie_is_signed_by_the_password_and_expires():
    token = access_token("s3cret", now=1_000.0, seconds=3600)
    assert token_valid(token, "s3cret", now=1_000.0) and token_valid(token, "s3cret", now=4_599.0)
    assert not token_valid(token, "s3cret", now=4_600.0)            # expired
    assert not token_valid(token, "another password", now=1_000.0)  # the password changed
    expiry, signature = token.split(".")
    assert not token_valid(f"{int(expiry) + 86_400}.{signature}", "s3cret", now=1_000.0)  # a longer life, forged
    for junk in (None, "", "abc", "1.2.3", "x.y", 42):
        assert not token_valid(junk, "s3cret", now=1_000.0)


def test_a_cookie_script_takes_only_values_the_app_made():
    script = cookie_script("crm_owner", "a" * 32, 60, only_if_absent=True)
    assert "crm_owner=" + "a" * 32 in script and "indexOf('crm_owner=')" in script
    for name, value in (("crm_owner", "x'; document.location='http://evil.example"), ("crm owner", "a"),
                        ("crm_owner", "")):
        with pytest.raises(ValueError):
            cookie_script(name, value, 60)
