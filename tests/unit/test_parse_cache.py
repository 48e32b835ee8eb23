"""Parsed sources are cached in the state store by content digest: an unchanged file is not redacted and
parsed again, a changed one is, and a cached parse gives the same observation and says the same warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from runbook_synth.ingest.local import _Verbatim, load_corpus
from runbook_synth.settings import Settings
from runbook_synth.state import StateStore
from tests.support.scenarios import write_deployment_history

BROKEN = "---\nmode: execution\ncontext: deploy: lambda: now\n---\n# Deploy\n\n```bash\naws lambda wait function-updated\n```\n"


def test_a_cached_parse_is_the_same_observation_and_repeats_its_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_deployment_history(tmp_path)
    (tmp_path / ".claude" / "observations" / "execution-1-broken.md").write_text(BROKEN)
    cold = load_corpus(tmp_path, Settings())
    StateStore.open(tmp_path).close()
    with caplog.at_level(logging.WARNING, logger="runbook_synth"):
        filling = load_corpus(tmp_path, Settings())
        caplog.clear()
        warm = load_corpus(tmp_path, Settings())
    assert cold == filling == warm
    assert any("frontmatter is not valid YAML" in record.getMessage() for record in caplog.records)


def test_what_classification_reads_is_kept_with_each_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each observation's own type, scope, command verbs and votes are worked out where it is parsed and kept
    with the parse: a warm run classifies from them without working them out again, and gets the same."""
    from runbook_synth import classify
    from runbook_synth.cluster import classifications
    from runbook_synth.ingest import local

    write_deployment_history(tmp_path)
    StateStore.open(tmp_path).close()
    cold = load_corpus(tmp_path, Settings())
    assert set(cold.facts) == {o.path for o in cold.observations}
    assert all(cold.facts[o.path] == classify.facts_of(o) for o in cold.observations)
    worked_out: list[str] = []
    real = classify.facts_of

    def counting(observation: object) -> classify.ObservationFacts:
        worked_out.append(getattr(observation, "path", ""))
        return real(observation)  # type: ignore[arg-type]

    monkeypatch.setattr(local, "facts_of", counting)
    monkeypatch.setattr("runbook_synth.cluster.facts_of", counting)
    warm = load_corpus(tmp_path, Settings())
    assert warm.facts == cold.facts and classifications(warm) == classifications(cold)
    assert not worked_out  # read back, not worked out again


def test_parses_are_written_as_they_come_and_a_run_that_stops_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold run writes its parses in batches (a run of 50,000 files would otherwise hold every payload to
    the end); a strict run that stops at a broken file keeps those written before it."""
    from runbook_synth.errors import SourceError
    from runbook_synth.ingest import local

    monkeypatch.setattr(local._ParseCache, "BATCH", 2)
    write_deployment_history(tmp_path)
    notes = sorted((tmp_path / ".claude").rglob("*.md"))
    (tmp_path / ".claude" / "observations" / "zz-broken.md").write_text(BROKEN)  # read last
    StateStore.open(tmp_path).close()
    with pytest.raises(SourceError, match=r"zz-broken\.md"):
        load_corpus(tmp_path, Settings(), strict=True)
    with StateStore.open(tmp_path, readonly=True) as store:
        kept = store.parsed_digests()
    assert len(kept) >= len(notes) - 1 and not any("zz-broken" in path for path in kept)
    load_corpus(tmp_path, Settings())
    with StateStore.open(tmp_path, readonly=True) as store:
        assert len(store.parsed_digests()) == len(notes) + 1  # the broken note too, read leniently


def test_a_changed_file_is_parsed_again_and_settings_are_part_of_the_key(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    StateStore.open(tmp_path).close()
    load_corpus(tmp_path, Settings())
    note = next((tmp_path / ".claude" / "observations").rglob("execution-*.md"))
    note.write_text(note.read_text().replace("pytest -q", "pytest -q -x"))
    commands = [run.command for obs in load_corpus(tmp_path, Settings()).observations for run in obs.commands]
    assert "pytest -q -x" in commands
    masked = Settings(redact_patterns=(("shas", r"telegram-api:(?P<secret>[0-9a-f]{7})"),))
    again = [run.command for obs in load_corpus(tmp_path, masked).observations for run in obs.commands]
    assert any("telegram-api:{shas}" in command for command in again)


def test_without_a_store_nothing_is_created(tmp_path: Path) -> None:
    write_deployment_history(tmp_path)
    load_corpus(tmp_path, Settings())
    assert not (tmp_path / ".runbook-synth").exists()


def test_the_cache_key_covers_the_parsing_code() -> None:
    """A changed parser must never read a stale cache: every module named in the key exists (a rename would
    silently drop it from the digest)."""
    from runbook_synth.ingest import local

    package = Path(local.__file__).resolve().parents[1]
    assert all((package / name).is_file() for name in local._PARSER_MODULES)
    assert len(local._parser_digest()) == 32


TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_paths_are_redacted_once_and_only_their_redacted_form_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_synth.ingest import local

    write_deployment_history(tmp_path)
    note = next((tmp_path / ".claude" / "observations").rglob("execution-*.md"))
    leaky = note.with_name(f"execution-9-{TOKEN}.md")
    leaky.write_text(note.read_text())
    StateStore.open(tmp_path).close()
    first = load_corpus(tmp_path, Settings())
    shown = sorted(obs.path for obs in first.observations)
    assert not any(TOKEN in path for path in shown) and any("{github_token}" in path for path in shown)
    store_bytes = (tmp_path / ".runbook-synth" / "state.sqlite").read_bytes()
    store_bytes += (
        (tmp_path / ".runbook-synth" / "state.sqlite-wal").read_bytes()
        if (tmp_path / ".runbook-synth" / "state.sqlite-wal").exists()
        else b""
    )
    assert TOKEN.encode() not in store_bytes

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("a path the store knows was redacted again")

    monkeypatch.setattr(local, "redact_path", refuse)
    assert load_corpus(tmp_path, Settings()) == first
    monkeypatch.undo()
    masked = Settings(redact_patterns=(("runs", r"execution-(?P<secret>9)-"),))  # other rules: redacted again
    assert any("execution-{runs}-" in obs.path for obs in load_corpus(tmp_path, masked).observations)


def test_verbatim_looks_near_the_line_first_and_then_anywhere() -> None:
    """Rebuilt strings are redacted again unless the source holds them verbatim; a note of 100,000 commands
    must not scan its whole text per command, so the lines around the command's own line are looked at
    first, and a string the source holds elsewhere is still found (no second redaction, no double finding)."""
    lines = [f"aws s3 cp s3://bucket/file{index} ." for index in range(500)]
    verbatim = _Verbatim("\n".join(lines))
    assert verbatim.holds("aws s3 cp s3://bucket/file250 .", 251)
    assert verbatim.holds("aws s3 cp s3://bucket/file250 .\naws s3 cp s3://bucket/file251 .", 251)
    assert verbatim.holds("aws s3 cp s3://bucket/file3 .", 490)  # far from the line it claims: found anyway
    assert verbatim.holds("aws s3 cp s3://bucket/file499 .", 10_000)  # a line past the end
    assert not verbatim.holds("aws s3 cp s3://bucket/file2 . -p joined", 3)
    assert not verbatim.holds("aws s3 cp s3://bucket/file1 .aws s3 cp", 0)


def test_a_generate_that_writes_keeps_its_parses_and_one_that_prints_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second `runbook deployment lambda` was as slow as the first (57 s at 10,000 files): only `regenerate`
    and `ingest` created the store the parse cache lives in."""
    from datetime import date

    from runbook_synth.generation import generate, generate_and_write
    from runbook_synth.ingest import local
    from runbook_synth.models import GenerateRequest

    write_deployment_history(tmp_path)
    request = GenerateRequest(tmp_path, "deployment", "lambda", date(2026, 12, 3))
    printed = generate(request).text
    assert not (tmp_path / ".runbook-synth").exists()
    first, _ = generate_and_write(request)
    assert (tmp_path / ".runbook-synth" / "state.sqlite").is_file()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged file was parsed again")

    monkeypatch.setattr(local, "parse_observation", refuse)
    monkeypatch.setattr(local, "parse_journal", refuse)
    second, _ = generate_and_write(request, force=True)
    assert first.text == second.text == printed
