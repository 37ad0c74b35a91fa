"""Bearer tokens: issued, verified, refused; the signing secret."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from starlette.datastructures import Secret

from analytics_graph.auth import (
    Caller,
    InvalidTokenError,
    Role,
    TokenVerifier,
    issue_token,
    signing_secret,
    verify_token,
)
from analytics_graph.config import Settings
from analytics_graph.errors import ConfigurationError

SECRET = "unit-test-secret-of-at-least-32-bytes!"


def test_a_token_names_its_role_and_account() -> None:
    account = uuid.uuid4()
    assert verify_token(SECRET, issue_token(SECRET, Role.CREATOR, account)) == Caller(
        Role.CREATOR, account
    )
    assert verify_token(SECRET, issue_token(SECRET, Role.AUDITOR)) == Caller(Role.AUDITOR)


def test_a_creator_token_needs_an_account() -> None:
    with pytest.raises(ValueError, match="account"):
        issue_token(SECRET, Role.CREATOR)


@pytest.mark.parametrize(
    ("token", "words"),
    [
        (issue_token("another-secret-of-at-least-32-bytes!!", Role.ADMIN), "(?i)signature"),
        (issue_token(SECRET, Role.ADMIN, ttl_seconds=10, now=time.time() - 3600), "expired"),
        ("abc.def", "not valid"),
    ],
)
def test_bad_tokens_are_refused_saying_why(token: str, words: str) -> None:
    with pytest.raises(InvalidTokenError, match=words):
        verify_token(SECRET, token)


def test_the_secret_is_generated_once_into_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = signing_secret(settings)
    assert len(first) >= 32
    assert signing_secret(settings) == first
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600


def test_a_configured_secret_wins_and_must_be_long_enough(tmp_path: Path) -> None:
    assert signing_secret(Settings(data_dir=tmp_path, secret=Secret(SECRET))) == SECRET
    with pytest.raises(ConfigurationError, match="32 bytes"):
        signing_secret(Settings(data_dir=tmp_path, secret=Secret("short")))


def test_a_verifier_remembers_good_tokens_only() -> None:
    verifier = TokenVerifier(SECRET)
    good = issue_token(SECRET, Role.AUDITOR)
    assert verifier.verify(good) is verifier.verify(good)
    forged = issue_token("another-secret-of-at-least-32-bytes!!", Role.ADMIN)
    for _ in range(2):
        with pytest.raises(InvalidTokenError):
            verifier.verify(forged)
    expired = issue_token(SECRET, Role.ADMIN, ttl_seconds=10, now=time.time() - 3600)
    with pytest.raises(InvalidTokenError, match="expired"):
        verifier.verify(expired)
