from pathlib import Path

import pytest

from runbook_synth.errors import ConfigError
from runbook_synth.settings import Settings, documented_keys, load_settings


def test_defaults_without_configuration(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert load_settings(tmp_path) == Settings()


def test_pyproject_table_found_by_walking_up(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.runbook-synth]\nmin-runs = 3\nowner = "platform"\nredact_allowlist = ["not-a-secret"]\n'
        '[tool.runbook-synth.redact_patterns]\ninternal = "itk_[a-z]{8}"\n'
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    settings = load_settings(nested)
    assert (settings.min_runs, settings.owner) == (3, "platform")
    assert settings.redact_patterns == (("internal", "itk_[a-z]{8}"),)
    assert settings.redact_allowlist == ("not-a-secret",)


def test_dedicated_file_and_command_line_overrides(tmp_path: Path) -> None:
    (tmp_path / "runbook-synth.toml").write_text("min_runs = 4\nrequired_support = 0.7\n")
    settings = load_settings(tmp_path, {"min_runs": 6})
    assert (settings.min_runs, settings.required_support) == (6, 0.7)


def test_unknown_key_says_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "runbook-synth.toml").write_text("min_run = 3\n")
    with pytest.raises(ConfigError, match=r"runbook-synth.toml: unknown key 'min_run' .*did you mean 'min_runs'\?"):
        load_settings(tmp_path)


@pytest.mark.parametrize("body", ['min_runs = "three"\n', "redact_patterns = [1]\n", "min_runs = [\n"])
def test_bad_values_name_the_file(tmp_path: Path, body: str) -> None:
    (tmp_path / "runbook-synth.toml").write_text(body)
    with pytest.raises(ConfigError, match=r"runbook-synth\.toml"):
        load_settings(tmp_path)


def test_every_setting_has_documentation() -> None:
    assert all(documented_keys().values())


def test_walk_stops_at_the_root_outside_a_repository(tmp_path: Path) -> None:
    (tmp_path / "runbook-synth.toml").write_text("min_runs = 7\n")
    nested = tmp_path / "notes"
    nested.mkdir()
    assert load_settings(nested).min_runs == 2
    assert load_settings(tmp_path).min_runs == 7


def test_walk_stops_at_the_repository_top(tmp_path: Path) -> None:
    (tmp_path / "runbook-synth.toml").write_text("min_runs = 7\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    assert load_settings(repo / "sub").min_runs == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min_runs = 0\n", "min_runs must be between 1"),
        ("required_support = -0.5\n", "required_support must be between 0.0 and 1.0"),
        ("max_file_mb = 1e308\n", "max_file_mb must be between"),
        ("scope_threshold = nan\n", "scope_threshold must be between"),
    ],
)
def test_out_of_range_settings_are_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "runbook-synth.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)
