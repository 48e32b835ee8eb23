"""`list` and one `generate` answered from the last regeneration while nothing it read has changed, and the
full path the moment anything did: same output either way, byte for byte."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from runbook_synth import codec, generation, load_settings, pipeline, snapshot
from runbook_synth.codec import runbook_from_json
from runbook_synth.errors import RunbookSynthError
from runbook_synth.library import mine_corpus, mine_runbook, regenerate
from runbook_synth.models import GenerateRequest, OutputFormat, RunbookSummary, Shape
from runbook_synth.render import to_json_dict
from runbook_synth.settings import Settings
from runbook_synth.state import StateStore
from tests.support.corpus import write_run
from tests.support.scenarios import write_deployment_history
from tests.unit.test_library import _rollback_run

DAY = date(2026, 11, 23)
LATER = date(2026, 11, 30)
SAMPLES = Path(__file__).resolve().parents[2] / "sample_observations"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_deployment_history(tmp_path)
    for index in (0, 1):
        write_run(tmp_path, _rollback_run(index))
    for path in (tmp_path / ".claude").rglob("*.md"):  # written an hour ago: size and mtime are trusted
        info = path.stat()
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - 3600 * 1_000_000_000))
    return tmp_path


@pytest.fixture
def settings(root: Path) -> Settings:
    return load_settings(root)


@pytest.fixture
def ingested(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Every time a command read the sources (the full path), the root it read."""
    calls: list[Path] = []
    real = pipeline.ingest

    def counting(root: Path, settings: Settings, strict: bool = False) -> object:
        calls.append(root)
        return real(root, settings, strict)

    monkeypatch.setattr(pipeline, "ingest", counting)
    yield calls


def _request(root: Path, settings: Settings, today: date, scope: str = "lambda", **extra: object) -> GenerateRequest:
    return GenerateRequest(root, "deployment", scope, today, settings, reuse_snapshot=True, **extra)  # type: ignore[arg-type]


def _full(request: GenerateRequest) -> str:
    return generation.generate(replace(request, reuse_snapshot=False)).text


def test_list_after_a_regeneration_is_the_full_survey_without_reading_a_source(
    root: Path, settings: Settings, ingested: list[Path]
) -> None:
    regenerate(root, settings, today=DAY)
    reads = len(ingested)
    warm = snapshot.survey_library(root, settings, today=LATER)
    assert len(ingested) == reads  # answered from the snapshot
    patterns, corpus, account = pipeline.list_patterns(root, settings, today=LATER)
    assert warm == snapshot.Survey(patterns, account, corpus.skipped)
    assert {(p.operation_type, p.scope, p.steps) for p in warm.patterns if p.ready} == {
        ("deployment", "lambda", patterns[0].steps),
        ("rollback", "lambda", next(p.steps for p in patterns if p.operation_type == "rollback")),
    }


@pytest.mark.parametrize(
    ("output_format", "shape"),
    [(OutputFormat.MD, Shape.RUNBOOK), (OutputFormat.JSON, Shape.RUNBOOK), (OutputFormat.MD, Shape.SERVICE)],
)
def test_one_generate_after_a_regeneration_is_the_full_paths_runbook_dated_today(
    root: Path, settings: Settings, ingested: list[Path], output_format: OutputFormat, shape: Shape
) -> None:
    regenerate(root, settings, today=DAY)
    reads = len(ingested)
    request = _request(root, settings, LATER, output_format=output_format, shape=shape)
    warm = generation.generate(request)
    assert len(ingested) == reads and warm.from_snapshot
    assert warm.runbook.generated == LATER.isoformat()
    assert warm.text == _full(request)


def test_a_changed_added_or_removed_source_takes_the_full_path(
    root: Path, settings: Settings, ingested: list[Path]
) -> None:
    regenerate(root, settings, today=DAY)
    runs = sorted((root / ".claude/observations").rglob("*.md"))
    before = generation.generate(_request(root, settings, DAY)).runbook.run_count
    reads = len(ingested)

    extra = runs[0].with_name("copy-of-" + runs[0].name)
    extra.write_text(runs[0].read_text().replace("deploy", "deploy "))
    added = generation.generate(_request(root, settings, DAY))
    assert not added.from_snapshot and len(ingested) == reads + 1
    assert snapshot.survey_library(root, settings, today=DAY) == snapshot.Survey(
        *(lambda found: (found[0], found[2], found[1].skipped))(pipeline.list_patterns(root, settings, today=DAY))
    )
    assert len(ingested) == reads + 3
    extra.unlink()
    assert generation.generate(_request(root, settings, DAY)).from_snapshot  # the library is as recorded again

    runs[1].unlink()
    removed = generation.generate(_request(root, settings, DAY))
    assert not removed.from_snapshot and removed.runbook.run_count < before


def test_an_edit_within_the_same_size_and_mtime_tick_is_seen(root: Path, settings: Settings) -> None:
    """Size and mtime are only trusted for files older than the racy window: a file written just before the
    regeneration looked at it may change again within the same tick, so it is digested next time."""
    path = next(p for p in sorted((root / ".claude/observations").rglob("*.md")) if "lambda" in p.read_text())
    path.write_text(path.read_text())  # written now
    regenerate(root, settings, today=DAY)
    info = path.stat()
    path.write_text(path.read_text().replace("lambda", "lambdb", 1))  # the same size
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the same mtime
    assert not generation.generate(_request(root, settings, DAY)).from_snapshot


def test_other_settings_scopes_or_strictness_take_the_full_path(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    assert generation.generate(_request(root, settings, DAY)).from_snapshot
    assert not generation.generate(_request(root, replace(settings, min_runs=settings.min_runs + 1), DAY)).from_snapshot
    assert not generation.generate(_request(root, settings, DAY, strict=True)).from_snapshot
    assert not generation.generate(_request(root, settings, DAY, scope="")).from_snapshot  # which scope: full path
    free = _request(root, settings, DAY, scope="lambda function deploys")
    assert not generation.generate(free).from_snapshot
    assert not generation.generate(replace(_request(root, settings, DAY), reuse_snapshot=False)).from_snapshot


def test_a_corrupt_or_missing_runbook_row_takes_the_full_path(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    request = _request(root, settings, DAY)
    with StateStore.open(root) as store:
        (name,) = [n for n in store.regeneration_names(snapshot.RUNBOOK_PREFIX) if _row_is(store, n, "deployment")]
        rendered = snapshot.rendered_row(name.removeprefix(snapshot.RUNBOOK_PREFIX))
        kept = store.regeneration(rendered)
        store.set_regeneration(name, '{"steps": "not a list"}')
    answer = generation.generate(request)  # the kept text is still the runbook's; only decoding it fails
    assert answer.from_snapshot and answer.text == _full(request)
    with pytest.raises(RunbookSynthError, match="stored runbook is unreadable"):
        _ = answer.runbook
    with StateStore.open(root) as store:
        store.set_regenerations({rendered: None})
    assert not generation.generate(request).from_snapshot
    with StateStore.open(root) as store:
        store.set_regenerations({name: None, rendered: kept})
    assert not generation.generate(request).from_snapshot
    assert generation.generate(request).text == _full(request)


@pytest.mark.parametrize(
    "kept", ['{"text": 3}', "{not json", '{"text": "no mark", "summary": {}}', '{"text": "@", "summary": 1}']
)
def test_a_corrupt_kept_text_is_rendered_from_the_runbook(root: Path, settings: Settings, kept: str) -> None:
    regenerate(root, settings, today=DAY)
    with StateStore.open(root) as store:
        for name in store.regeneration_names(snapshot.RENDERED_PREFIX):
            store.set_regeneration(name, kept.replace("@", snapshot.DATE_MARK))
    request = _request(root, settings, DAY)
    answer = generation.generate(request)
    assert answer.from_snapshot and answer.summary is None and answer.text == _full(request)


def test_the_slash_commands_runbook_is_the_kept_text_dated_today_with_nothing_decoded(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged /runbook markdown that `regenerate` rendered is kept undated: `generate` dates it and
    decodes the runbook only if asked for it (thousands of runs take a fifth of a second to decode)."""
    regenerate(root, settings, today=DAY)
    decoded: list[object] = []
    real = codec.runbook_from_json
    monkeypatch.setattr(codec, "runbook_from_json", lambda data: decoded.append(data) or real(data))
    request = _request(root, settings, LATER)
    warm = generation.generate(request)
    assert warm.from_snapshot and not decoded
    full = generation.generate(replace(request, reuse_snapshot=False))
    assert warm.text == full.text and f"**Generated**: {LATER.isoformat()}" in warm.text
    assert warm.counts == RunbookSummary.of(full.runbook)
    assert to_json_dict(warm.runbook) == to_json_dict(full.runbook) and len(decoded) == 1
    for other in (
        {"shape": Shape.SERVICE},
        {"output_format": OutputFormat.JSON},
        {"templates_dir": SAMPLES.parent / "templates"},
    ):
        asked = _request(root, settings, LATER, **other)
        assert generation.generate(asked).text == _full(asked)  # other shapes are rendered from the runbook


def test_a_source_that_holds_the_date_mark_is_rendered_anew(root: Path, settings: Settings) -> None:
    """The kept text is dated by replacing the mark, which only works when the mark occurs once: a file named
    with it (its path is listed under the runbook's sources) makes the text be rendered from the runbook."""
    path = next(p for p in sorted((root / ".claude/observations").rglob("*.md")) if "deploy" in p.read_text())
    path.rename(path.with_name(f"execution-{snapshot.DATE_MARK}.md"))
    regenerate(root, settings, today=DAY)
    with StateStore.open(root, readonly=True) as store:
        kept = [str(store.regeneration(name)) for name in store.regeneration_names(snapshot.RENDERED_PREFIX)]
    library = (root / "runbooks" / "deployment-lambda.md").read_text()
    assert f"execution-{snapshot.DATE_MARK}.md" in library and f"**Generated**: {DAY.isoformat()}" in library
    texts = [json.loads(item)["text"] for item in kept]
    assert all(text.count(snapshot.DATE_MARK) == 1 for text in texts)
    assert not any(text.startswith("# Runbook: Deployment - lambda") for text in texts)  # its text was not kept
    request = _request(root, settings, LATER)
    answer = generation.generate(request)
    assert answer.from_snapshot and answer.summary is None and answer.text == _full(request)


def _row_is(store: StateStore, name: str, operation_type: str) -> bool:
    payload = store.regeneration(name)
    return payload is not None and json.loads(payload)["operation_type"] == operation_type


def test_rows_of_runbooks_no_longer_mined_are_dropped(root: Path, settings: Settings) -> None:
    regenerate(root, settings, today=DAY)
    with StateStore.open(root, readonly=True) as store:
        first = store.regeneration_names(snapshot.RUNBOOK_PREFIX)
    assert len(first) == 2
    path = next(p for p in sorted((root / ".claude/observations").rglob("*.md")) if "deploy" in p.read_text())
    path.write_text(path.read_text().replace("**Duration**: 20s", "**Duration**: 25s", 1))  # a new timing
    regenerate(root, settings, today=DAY)
    with StateStore.open(root, readonly=True) as store:
        second = store.regeneration_names(snapshot.RUNBOOK_PREFIX)
        rendered = store.regeneration_names(snapshot.RENDERED_PREFIX)
    assert len(second) == 2 and set(first) != set(second)
    assert {name.removeprefix(snapshot.RENDERED_PREFIX) for name in rendered} == {
        name.removeprefix(snapshot.RUNBOOK_PREFIX) for name in second
    }


def test_warnings_are_said_again_and_a_quiet_record_does_not_hide_them(
    root: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    (root / ".claude/observations/broken.md").write_bytes(b"\xff\xfe not text")
    os.utime(root / ".claude/observations/broken.md", (1, 1))
    logger = logging.getLogger("runbook_synth")
    previous = logger.level
    logger.setLevel(logging.ERROR)  # --quiet
    try:
        regenerate(root, settings, today=DAY)
        assert generation.generate(_request(root, settings, DAY)).from_snapshot  # quiet: nothing to say
    finally:
        logger.setLevel(previous)
    with caplog.at_level(logging.WARNING, logger="runbook_synth"):
        assert not generation.generate(_request(root, settings, DAY)).from_snapshot  # must say what quiet hid
        full = [r.getMessage() for r in caplog.records if "broken.md" in r.getMessage()]
        regenerate(root, settings, today=DAY, force=True)
        caplog.clear()
        assert generation.generate(_request(root, settings, DAY)).from_snapshot
        warm = [r.getMessage() for r in caplog.records if "broken.md" in r.getMessage()]
        caplog.clear()
        snapshot.survey_library(root, settings, today=DAY)
        listed = [r.getMessage() for r in caplog.records if "broken.md" in r.getMessage()]
    assert full and warm == full and listed == full


def test_every_sample_runbook_survives_the_json_round_trip() -> None:
    settings = load_settings(SAMPLES)
    mined = mine_corpus(SAMPLES, settings)
    ready = [p for p in mined.patterns if p.enough_runs]
    assert len(ready) >= 5
    for pattern in ready:
        runbook = mine_runbook(mined, pattern, settings, DAY)
        assert runbook_from_json(json.loads(json.dumps(to_json_dict(runbook)))) == runbook


def test_a_runbook_decoder_refuses_what_is_not_a_runbook() -> None:
    with pytest.raises(ValueError, match="steps"):
        runbook_from_json({"operation_type": "deployment", "scope": "x", "steps": "nope"})


def test_an_edit_mining_cannot_see_is_parsed_again_but_not_mined_again(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_synth import library

    regenerate(root, settings, today=DAY)
    mined: list[str] = []
    real = library.mine_runbook

    def counting(*args: object, **kwargs: object) -> object:
        mined.append(str(args[1]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(library, "mine_runbook", counting)
    path = next(p for p in sorted((root / ".claude/observations").rglob("*.md")) if "deploy" in p.read_text())
    path.write_text(path.read_text() + "\n<!-- reviewed by on-call -->\n")
    report = regenerate(root, settings, today=DAY)
    assert mined == [] and not report.changed
    path.write_text(path.read_text().replace("**Duration**: 20s", "**Duration**: 25s", 1))
    report = regenerate(root, settings, today=DAY)
    assert mined and report.changed  # the deployment, and the rollback whose undo section it is


def test_a_warm_list_imports_nothing_it_does_not_use(root: Path, settings: Settings) -> None:
    """`runbook list` after a regenerate answers from the record: no file is parsed (no YAML, no markdown),
    no pool is started, and typer's pydantic (0.2 s; typer 0.29 imports it to parse any option) is not
    loaded."""
    import subprocess
    import sys

    regenerate(root, settings, today=DAY)
    probe = (
        "import sys\n"
        "sys.argv = ['runbook', 'list', '--root', sys.argv[1]]\n"
        "from runbook_synth.cli import main\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        "unused = ('pydantic', 'frontmatter', 'yaml', 'markdown_it', 'jinja2', 'multiprocessing', 'importlib.metadata',"
        " 'runbook_synth.pipeline')\n"
        "print(sorted(name for name in unused if name in sys.modules), file=sys.stderr)\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True, text=True, check=True)
    assert "deployment" in shown.stdout
    assert shown.stderr.splitlines()[-1] == "[]", shown.stderr


def test_a_warm_answer_loads_no_parser_aligner_or_clusterer(root: Path, settings: Settings) -> None:
    """Importing the recipe (markdown-it, the redactor's patterns, alignment, clustering) was a third of a
    warm `runbook deployment lambda`; the answer from the snapshot needs none of it."""
    import subprocess
    import sys

    regenerate(root, settings, today=DAY)
    probe = (
        "import sys; from datetime import date; from pathlib import Path\n"
        "from runbook_synth import generate, load_settings, GenerateRequest\n"
        "root = Path(sys.argv[1])\n"
        "done = generate(GenerateRequest(root, 'deployment', 'lambda', date(2026, 11, 30), load_settings(root),"
        " reuse_snapshot=True))\n"
        "heavy = ('pipeline', 'ingest.local', 'align', 'cluster', 'classify', 'redact', 'ingest.markdown')\n"
        "print(done.from_snapshot, sorted(m for m in heavy if 'runbook_synth.' + m in sys.modules))\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True, text=True, check=True)
    assert shown.stdout == "True []\n", shown.stderr


def test_files_as_recorded_are_known_by_one_digest_without_reading_the_file_list(
    root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no file was racy as the record was taken, equal sizes and mtimes (one digest) are enough: the list
    of every file's digest (megabytes at 50,000 files) is read only when something differs or was racy."""
    regenerate(root, settings, today=DAY)
    read: list[int] = []
    real = snapshot.recorded_files
    monkeypatch.setattr(snapshot, "recorded_files", lambda store: read.append(1) or real(store))
    assert generation.generate(_request(root, settings, DAY)).from_snapshot
    assert snapshot.survey_library(root, settings, today=DAY) is not None and not read
    path = next(p for p in sorted((root / ".claude/observations").rglob("*.md")) if "deploy" in p.read_text())
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))  # touched, not changed
    assert generation.generate(_request(root, settings, DAY)).from_snapshot and read  # checked file by file
    path.write_text(path.read_text().replace("**Duration**: 20s", "**Duration**: 21s", 1))
    assert not generation.generate(_request(root, settings, DAY)).from_snapshot
