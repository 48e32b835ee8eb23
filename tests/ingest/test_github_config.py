"""[tool.runbook-synth.github], the base URL and the token: where each comes from, and the errors."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import timedelta

import pytest

from runbook_synth.errors import ConfigError
from runbook_synth.ingest.github import (
    GitHubConfig,
    documented_github_keys,
    parse_github_config,
    parse_lookback,
    resolve_api_url,
    resolve_token,
)


def test_the_table_is_read_with_its_documented_keys() -> None:
    config = parse_github_config(
        {
            "repos": ["acme/telegram-api"],
            "workflows": ["deploy-lambda.yml", ".github/workflows/rollback-lambda.yml"],
            "branch": "main",
            "lookback": "2w",
            "api-url": "https://github.example.com/api/v3",
        }
    )
    assert config == GitHubConfig(
        repos=("acme/telegram-api",),
        workflows=("deploy-lambda.yml", "rollback-lambda.yml"),
        branch="main",
        lookback=timedelta(weeks=2),
        api_url="https://github.example.com/api/v3",
    )
    assert set(documented_github_keys()) == {"repos", "workflows", "branch", "lookback", "api_url"}
    assert all(documented_github_keys().values())


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"repo": ["a/b"]}, r"unknown key 'repo' in \[tool.runbook-synth.github\]; did you mean 'repos'\?"),
        ({"repos": "https://github.com/acme/x"}, r"repository 'https://github.com/acme/x' must be OWNER/NAME"),
        ({"repos": [1]}, r"repos must be a list of strings"),
        ({"workflows": ["deploy"]}, r"workflow 'deploy' must be a file name like deploy-lambda.yml"),
        ({"lookback": "30 days"}, r"lookback must be a positive number of hours, days or weeks"),
        ({"api_url": "github.example.com"}, r"api_url must start with https://"),
        ({"branch": 3}, r"branch must be a string"),
    ],
)
def test_a_wrong_key_or_value_is_one_line_with_the_fix(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_github_config(table, "pyproject.toml")
    assert str(caught.value).startswith("pyproject.toml: ") and "\n" not in str(caught.value)


def test_lookback_units() -> None:
    assert parse_lookback("12h") == timedelta(hours=12)
    assert parse_lookback("30d") == timedelta(days=30)
    with pytest.raises(ConfigError):
        parse_lookback("0d")


def test_the_base_url_comes_from_config_then_the_environment_then_github_com() -> None:
    assert resolve_api_url(GitHubConfig(api_url="https://ghe.example.com/api/v3/"), {"GITHUB_API_URL": "x"}) == (
        "https://ghe.example.com/api/v3"
    )
    assert (
        resolve_api_url(GitHubConfig(), {"GITHUB_API_URL": "https://ghe.example.com/api/v3"})
        == "https://ghe.example.com/api/v3"
    )
    assert resolve_api_url(GitHubConfig(), {}) == "https://api.github.com"


class Gh:
    """A command runner standing in for the gh CLI: it records calls and answers as told."""

    def __init__(self, answer: str | BaseException) -> None:
        self.answer = answer
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.calls.append(list(argv))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def test_the_token_comes_from_gh_token_then_github_token_then_gh_auth_token() -> None:
    gh = Gh("gho_from_gh\n")
    assert resolve_token({"GH_TOKEN": "a", "GITHUB_TOKEN": "b"}, gh) == "a"
    assert resolve_token({"GH_TOKEN": " ", "GITHUB_TOKEN": "b"}, gh) == "b"
    assert gh.calls == []
    assert resolve_token({}, gh) == "gho_from_gh"
    assert gh.calls == [["gh", "auth", "token"]]


def test_no_token_anywhere_is_none_not_an_error() -> None:
    assert resolve_token({}, Gh(FileNotFoundError("gh"))) is None
    assert resolve_token({}, Gh(subprocess.CalledProcessError(1, ["gh"]))) is None
    assert resolve_token({}, Gh("")) is None
    assert resolve_token({}, None) is None
