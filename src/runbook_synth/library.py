"""The runbook library: every ready pattern regenerated into `<root>/runbooks/` under stable names, with a
JSON twin per runbook (`runbooks/.data/<name>.json`) and an index.

Why twins: comparisons (the downgrade guard, `runbook diff`) must never parse markdown, whose prose a user
template may rewrite. Why stable names: a nightly job must replace yesterday's runbook, not add a file beside
it; the generation date lives inside the document. Regeneration is idempotent: a pattern whose sources did
not change is skipped by its digest (kept in the state store), and a runbook whose content did not change
keeps its Generated date, so an unchanged library is not rewritten, byte for byte.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_synth import snapshot
from runbook_synth.errors import EmptyRunbookError, RunbookSynthError
from runbook_synth.ingest.files import SOURCE_FOLDERS, check_root, source_folders
from runbook_synth.models import OperationType, RunbookSummary
from runbook_synth.output import atomic_write, output_folder, remove_stale_temporaries, run_lock, slug
from runbook_synth.settings import Settings
from runbook_synth.snapshot import CODE_VERSION, package_version
from runbook_synth.state import RunbookRecord, StateStore

if TYPE_CHECKING:
    from runbook_synth.cluster import Selections
    from runbook_synth.models import Classification, Corpus, Observation, Pattern, Runbook, Selection

# The pipeline (parsers, clustering, alignment, jinja2) is imported where it is used, so a regeneration that
# finds nothing changed never imports it.

log = logging.getLogger(__name__)

DATA_FOLDER = ".data"
INDEX_NAME = "index.md"
INDEX_TEMPLATE = "index.md.j2"

Progress = Callable[[int, int, str], None]
"""(patterns done, patterns in all, the one in hand); the CLI draws it on a terminal."""

REVIEW_DAYS = {
    "daily": 1,
    "weekly": 7,
    "fortnightly": 14,
    "biweekly": 14,
    "monthly": 31,
    "quarterly": 92,
    "half-yearly": 183,
    "semiannually": 183,
    "yearly": 366,
    "annually": 366,
}
"""Review frequencies we can turn into a due date (generous: a calendar month is at most 31 days)."""


class Outcome(enum.StrEnum):
    """What regeneration did (or, with check, would do) to one runbook."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    NOT_READY = "not ready"

    @property
    def writes(self) -> bool:
        return self in (Outcome.CREATED, Outcome.UPDATED)


@dataclass(frozen=True)
class RunbookResult:
    """One pattern's outcome, with the reason when it was refused or not ready."""

    name: str
    operation_type: str
    scope: str
    outcome: Outcome
    reason: str = ""
    files: tuple[str, ...] = ()
    """The files written (or that check would write), relative to the root."""


@dataclass(frozen=True)
class RegenerateReport:
    results: tuple[RunbookResult, ...]
    index: Outcome
    check: bool
    folder: str
    """The library folder relative to the root (`runbooks`)."""

    @property
    def changed(self) -> bool:
        """True when the library on disk differs (or, with check, would differ) from what the sources give."""
        return self.index.writes or any(result.outcome.writes for result in self.results)

    def by_outcome(self, outcome: Outcome) -> tuple[RunbookResult, ...]:
        return tuple(result for result in self.results if result.outcome == outcome)

    @property
    def summary(self) -> str:
        """The one line the CLI ends with: written, unchanged, skipped and why."""
        parts = [f"{len(self.by_outcome(Outcome.UNCHANGED))} unchanged"]
        for outcome in (Outcome.REFUSED, Outcome.NOT_READY):
            chosen = self.by_outcome(outcome)
            if chosen:
                why = "; ".join(f"{r.name}: {r.reason}" for r in chosen)
                parts.append(f"{len(chosen)} {outcome} ({why})")
        if not self.changed:
            return f"{self.folder}/: up to date, nothing written: " + ", ".join(parts)
        written = [r.name for r in self.results if r.outcome.writes]
        verb = "would write" if self.check else "wrote"
        head = f"{verb} {len(written)}" + (f" ({', '.join(written)})" if written else "")
        index = f"{INDEX_NAME} {'would be ' if self.check else ''}{self.index}" if self.index.writes else ""
        return f"{self.folder}/: " + ", ".join([head, *parts, *([index] if index else [])])


@dataclass(frozen=True)
class _Plan:
    """Everything a pattern's regeneration would write, computed before anything is written."""

    result: RunbookResult
    texts: tuple[tuple[Path, str], ...] = ()
    twin: dict[str, Any] | None = None
    record: RunbookRecord | None = None
    digest: str = ""
    """The sources digest of a pattern with enough runs."""
    steps: int | None = None
    """Steps of the runbook mined (or kept unchanged); 0 when mining gave none."""
    mined_json: str | None = None
    """The runbook mined now, as JSON, for `generate` to answer from while nothing changes."""
    rendered: str | None = None
    """Its undated markdown in the packaged template (`snapshot.rendered_payload`), when rendered so."""


def runbook_name(operation_type: str, scope: str) -> str:
    """The stable name of a runbook: `<type>-<scope-slug>` (no date; the date lives inside the document)."""
    type_slug = slug(operation_type)
    if not type_slug:
        raise RunbookSynthError(f"operation type {operation_type!r} has no usable name; rename it in the sources")
    scope_slug = slug(scope)
    return f"{type_slug}-{scope_slug}" if scope_slug else type_slug


def library_folder(root: Path, sources: tuple[str, ...] = SOURCE_FOLDERS) -> Path:
    """`<root>/runbooks`, refused when it is a link out of the root or inside a folder read as a source."""
    return output_folder(root, None, source_folders(root, sources))


def twin_path(folder: Path, name: str) -> Path:
    return folder / DATA_FOLDER / f"{name}.json"


def read_twin(path: Path) -> dict[str, Any] | None:
    """A runbook JSON twin, or None when it is missing or is not one (named in a warning, never a crash)."""
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        log.warning("%s: not a readable runbook twin (%s); it will be regenerated", path, error)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        log.warning("%s: not a runbook twin (no steps list); it will be regenerated", path)
        return None
    return data


def twin_text(data: Mapping[str, Any]) -> str:
    """The twin's bytes: the public JSON shape, as `--format json` prints it."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def library_twins(folder: Path) -> dict[str, dict[str, Any]]:
    """Every readable twin in the library (`<folder>/.data/*.json`), by runbook name."""
    return twins_in(folder / DATA_FOLDER)


def twins_in(data: Path) -> dict[str, dict[str, Any]]:
    """Every readable runbook JSON file directly in a folder, by file stem."""
    if not data.is_dir():
        return {}
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(data.glob("*.json")):
        twin = read_twin(path)
        if twin is not None:
            found[path.stem] = twin
    return found


# --- mining from one corpus -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinedCorpus:
    """A corpus ingested once with its classifications, so many patterns are mined without reading again."""

    corpus: Corpus
    found: dict[str, Classification]
    patterns: tuple[Pattern, ...]
    root: Path
    selections: Selections
    """Each selection made once, for the survey, the sources digests and mining (forked workers inherit it)."""

    def selections_for(self, settings: Settings) -> Selections:
        from runbook_synth.cluster import Selections

        if settings.scope_threshold == self.selections.threshold:
            return self.selections
        return Selections(self.corpus, self.found, settings.scope_threshold)


def mine_corpus(root: Path, settings: Settings, strict: bool = False) -> MinedCorpus:
    from runbook_synth.cluster import Selections, classifications
    from runbook_synth.pipeline import ingest, survey

    corpus = ingest(root, settings, strict)
    found = classifications(corpus)
    selections = Selections(corpus, found, settings.scope_threshold)
    counted = survey(corpus, check_root(root), settings, date.min, found, mine_steps=False, selections=selections)
    return MinedCorpus(corpus, found, counted, check_root(root), selections)


def _selections(mined: MinedCorpus, pattern: Pattern, settings: Settings) -> tuple[Selection, Selection | None]:
    """The pattern's observations and those of the runs that undo it, as `generation.generate` selects them."""
    selections = mined.selections_for(settings)
    undo_type = OperationType.DEPLOYMENT if pattern.operation_type == OperationType.ROLLBACK else OperationType.ROLLBACK
    undo = selections(undo_type, pattern.scope) if pattern.scope else None
    return selections(pattern.operation_type, pattern.scope), undo


def mine_runbook(mined: MinedCorpus, pattern: Pattern, settings: Settings, today: date) -> Runbook:
    """The runbook `runbook generate TYPE SCOPE` would mine, from an already ingested corpus: the pipeline's
    own recipe (`pipeline.mine`), so one ingest serves every pattern."""
    from runbook_synth.pipeline import mine

    selections = mined.selections_for(settings)
    return mine(
        mined.corpus, mined.root, pattern.operation_type, pattern.scope, settings, today, mined.found, selections
    )


def _observations(selection: Selection, undo: Selection | None) -> list[Observation]:
    chosen = [*selection.executions, *selection.failures, *selection.journals, *selection.related_failures]
    if undo is not None:
        chosen += [*undo.executions, *undo.failures, *undo.journals, *undo.related_failures]
    return sorted({obs.path: obs for obs in chosen}.values(), key=lambda obs: obs.path)


def sources_digest(mined: MinedCorpus, pattern: Pattern, settings: Settings, templates_dir: Path | None) -> str:
    """What a runbook depends on, in one digest: what was parsed out of every file (or stored record) it is
    mined from, the skipped files it warns about, the settings, the templates and the version. What parsing
    gave, not the files' bytes or mtimes: a fresh clone in CI gives the same digest, and an edit that changes
    nothing mining sees (a comment, trailing spaces) does not mine the runbook again."""
    from runbook_synth.resources import packaged_templates

    digest = snapshot.Digest()
    feed = digest.feed
    feed(CODE_VERSION, package_version(), pattern.operation_type, pattern.scope, repr(settings))
    selection, undo = _selections(mined, pattern, settings)
    for observation in _observations(selection, undo):
        feed(observation.path, repr(observation))
    for skip in mined.corpus.skipped:
        feed("skipped", skip.path, skip.reason)
    for folder in (templates_dir, packaged_templates()):
        if folder is None or not folder.is_dir():
            continue
        for template in sorted(folder.glob("*.j2")):
            with contextlib.suppress(OSError):
                feed("template", template.name, hashlib.blake2b(template.read_bytes(), digest_size=20).hexdigest())
    return digest.hexdigest()


# --- the downgrade guard --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """What the current runbook has, read from its JSON twin or the store (never from markdown prose)."""

    steps: int
    sources: frozenset[str]
    runs: int


def baseline(twin: Mapping[str, Any] | None, record: RunbookRecord | None) -> Baseline | None:
    if twin is not None:
        sources = [*twin.get("sources", []), *twin.get("rollback", {}).get("sources", [])]
        return Baseline(len(twin.get("steps", [])), frozenset(str(s) for s in sources), int(twin.get("run_count", 0)))
    if record is not None:
        return Baseline(record.step_count, frozenset(record.sources), record.run_count)
    return None


def downgrade(old: Baseline | None, new: Runbook) -> str:
    """Why the new runbook must not replace the old one ('' when it may): it lost most of its steps or
    sources, which is what a corrupted or half-deleted set of observations looks like."""
    if old is None:
        return ""
    if old.steps >= 2 and len(new.steps) * 2 < old.steps:
        return f"would lose {old.steps - len(new.steps)} of its {old.steps} steps; --force replaces it"
    lost = old.sources - set(_all_sources(new))
    if old.sources and len(lost) * 2 > len(old.sources):
        return f"would lose {len(lost)} of its {len(old.sources)} sources; --force replaces it"
    return ""


def _all_sources(runbook: Runbook) -> tuple[str, ...]:
    return tuple(sorted({*runbook.sources, *runbook.rollback.sources}))


# --- regeneration ---------------------------------------------------------------------------------------------------


def regenerate(
    root: Path,
    settings: Settings,
    *,
    today: date,
    names: Sequence[str] = (),
    force: bool = False,
    check: bool = False,
    templates_dir: Path | None = None,
    strict: bool = False,
    rebuild_state: bool = False,
    progress: Progress | None = None,
) -> RegenerateReport:
    """Bring `<root>/runbooks/` up to date with the sources; with check, write nothing and say what would change.

    Every runbook is generated and rendered before the first byte is written, so a failure halfway (a bad
    template, a corrupt store, a source that strict mode refuses) leaves the previous library as it was.
    """
    root = check_root(root)
    if templates_dir is not None and not templates_dir.is_dir():
        raise RunbookSynthError(f"--templates-dir {templates_dir}: no such directory; pass a folder of .j2 templates")
    with run_lock(root):
        folder = library_folder(root, settings.sources)
        if not check:
            remove_stale_temporaries(folder)
            remove_stale_temporaries(folder / DATA_FOLDER)
        with _store(root, check, rebuild_state) as store:  # first: a rebuild must precede reading stored records
            scan = snapshot.scan(root, settings, names, strict, templates_dir)
            if not (force or rebuild_state):
                fast = _fast_report(root, folder, store, scan, today, check)
                if fast is not None:
                    return fast
            previous = snapshot.recorded(store)
            manifest = snapshot.manifest(scan, previous, snapshot.recorded_files(store) if previous else [])
            with _captured_warnings() as warnings:
                full = _regenerate_fully(
                    root, folder, store, settings, today, names, force, check, templates_dir, strict, progress
                )
            results = tuple(p.result for p in full.plans)
            report = RegenerateReport(results, full.index_outcome, check, _relative(folder, root))
            if not check:
                _record(store, folder, scan, manifest, full, report, today, warnings)
    return report


def _regenerate_fully(
    root: Path,
    folder: Path,
    store: StateStore,
    settings: Settings,
    today: date,
    names: Sequence[str],
    force: bool,
    check: bool,
    templates_dir: Path | None,
    strict: bool,
    progress: Progress | None,
) -> _FullRun:
    """The full path: ingest, mine what changed, render, write (unless check)."""
    with _captured_warnings() as reading_warnings:
        mined = mine_corpus(root, settings, strict)
    chosen = choose_patterns(mined.patterns, names)
    kept = {p: _kept(root, folder, mined, p, settings, store, force, templates_dir) for p in chosen}
    to_mine = [pattern for pattern, plan in kept.items() if isinstance(plan, str)]
    if progress is not None:
        for done, pattern in enumerate(p for p in chosen if p not in to_mine):
            progress(done, len(chosen), runbook_name(pattern.operation_type, pattern.scope))
    runbooks = dict(zip(to_mine, _mine_all(mined, to_mine, settings, today, progress, len(chosen)), strict=True))
    plans: list[_Plan] = []
    for pattern in chosen:
        plan = kept[pattern]
        if isinstance(plan, str):
            plan = _plan(root, folder, pattern, runbooks[pattern], plan, store, force, templates_dir)
        plans.append(plan)
    if progress is not None:
        progress(len(chosen), len(chosen), INDEX_NAME)
    twins = library_twins(folder)
    twins.update({plan.result.name: plan.twin for plan in plans if plan.twin is not None})
    index_text = render_index(twins, today, templates_dir)
    index_path = folder / INDEX_NAME
    index_outcome = _compare(index_path, index_text)
    if not check:
        for plan in plans:
            for path, text in plan.texts:
                atomic_write(path, text)
        if index_outcome.writes:
            atomic_write(index_path, index_text)
        records = [plan.record for plan in plans if plan.record is not None]
        changed = [record for record in records if store.runbook_record(record.name) != record]
        if changed:
            with store.transaction():
                for record in changed:
                    store.set_runbook_record(record)
    rendered = {plan.digest: plan.rendered for plan in plans if plan.rendered is not None}
    found = _found(mined, plans, store, settings, names)
    return _FullRun(plans, index_outcome, twins, *found, rendered, reading_warnings)


@dataclass(frozen=True)
class _FullRun:
    """What a full regeneration did and found."""

    plans: list[_Plan]
    index_outcome: Outcome
    twins: dict[str, dict[str, Any]]
    """What the index was rendered from, by runbook name."""
    survey: snapshot.Survey | None
    """What `list` shows, when every ready pattern was mined (no names asked for)."""
    mined: dict[tuple[str, str], str]
    """(type, scope) → sources digest of each runbook mined now or kept in the store from an earlier run."""
    mined_rows: dict[str, str]
    """Sources digest → the JSON of a runbook mined now."""
    rendered_rows: dict[str, str]
    """Sources digest → the undated markdown of a runbook mined now (`snapshot.rendered_payload`)."""
    reading_warnings: list[tuple[str, int, str]] | None
    """The warnings reading and classifying the sources gave (None: warnings were off)."""


def _found(
    mined: MinedCorpus, plans: Sequence[_Plan], store: StateStore, settings: Settings, names: Sequence[str]
) -> tuple[snapshot.Survey | None, dict[tuple[str, str], str], dict[str, str]]:
    """The survey and the runbooks mined, for `list` and `generate` to answer from while nothing changes."""
    from runbook_synth.pipeline import account

    kept = set(store.regeneration_names(snapshot.RUNBOOK_PREFIX))
    steps: dict[tuple[str, str], int] = {}
    digests: dict[tuple[str, str], str] = {}
    rows: dict[str, str] = {}
    for plan in plans:
        key = (plan.result.operation_type, plan.result.scope)
        if plan.steps is not None:
            steps[key] = plan.steps
        if plan.digest and (plan.mined_json is not None or snapshot.runbook_row(plan.digest) in kept):
            digests[key] = plan.digest
            if plan.mined_json is not None:
                rows[plan.digest] = plan.mined_json
    survey = None
    if not names:
        surveyed = tuple(
            replace(p, steps=steps.get((p.operation_type, p.scope), 0)) if p.enough_runs else p for p in mined.patterns
        )
        found = account(mined.corpus, surveyed, mined.found, settings, mined.root)
        survey = snapshot.Survey(surveyed, found, mined.corpus.skipped)
    return survey, digests, rows


# --- the fast path: an unchanged library is recognised without parsing anything ------------------------------------
# After a successful regeneration the store keeps what it saw and found (`snapshot`), and what it left: a digest of
# every file in the library, the report, the warnings. A run whose inputs and library all match reports the same
# thing and writes nothing; any doubt (no record, a file or template changed, a runbook edited by hand, --force,
# --rebuild-state) takes the full path, which gives the same result the slow way.


def _outputs_digest(folder: Path) -> str:
    """Every file in the library folder and its `.data/`, by name and content."""
    digest = hashlib.blake2b(digest_size=20)
    for where in (folder, folder / DATA_FOLDER):
        digest.update(f"{where.name}\x00{where.is_dir()}\x00".encode())
        if where.is_dir() and not where.is_symlink():
            for part in _folder_listing(where):
                digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def _folder_listing(folder: Path) -> list[str]:
    parts: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() and not path.is_symlink():
            parts += [path.name, "folder"]
        else:
            parts += [path.name, "link" if path.is_symlink() else "file", snapshot.file_digest(path)]
    return parts


def _record(
    store: StateStore,
    folder: Path,
    scan: snapshot.Scan,
    manifest: list[list[Any]],
    full: _FullRun,
    report: RegenerateReport,
    today: date,
    warnings: list[tuple[str, int, str]] | None,
) -> None:
    """What the next run must find to skip everything: this run's inputs and the library it left, the report
    it will give (this one with everything written now unchanged), and, when every ready pattern was mined,
    the survey `list` prints and each runbook mined, for `list` and `generate` to answer from."""
    dues: list[str | None] = []
    stale: list[bool] = []
    for name in sorted(full.twins):
        twin = full.twins[name]
        state = review(str(twin.get("last_validated", "")), str(twin.get("review_frequency", "")), today)
        dues.append(state.due.isoformat() if state.due else None)
        stale.append(state.stale)
    results = [
        [r.name, r.operation_type, r.scope, str(Outcome.UNCHANGED if r.outcome.writes else r.outcome), r.reason]
        for r in report.results
    ]
    payload = {
        "version": snapshot.VERSION,
        "inputs": snapshot.output_inputs(scan, store, today),
        "core": snapshot.mining_inputs(scan, store, today),
        "taken_ns": scan.taken_ns,
        "paths": scan.paths,
        "stats": snapshot.stat_digest(scan),
        "settled": snapshot.settled(scan),
        "outputs": _outputs_digest(folder),
        "dues": dues,
        "stale": stale,
        "results": results,
        "warnings": [list(item) for item in warnings] if warnings is not None else None,
        "survey": snapshot.survey_payload(full.survey, full.reading_warnings) if full.survey else None,
        "runbooks": {f"{kind}\x00{scope}": digest for (kind, scope), digest in sorted(full.mined.items())},
    }
    rows: dict[str, str | None] = {snapshot.runbook_row(digest): text for digest, text in full.mined_rows.items()}
    rows.update({snapshot.rendered_row(digest): text for digest, text in full.rendered_rows.items()})
    keep = {row(digest) for digest in full.mined.values() for row in (snapshot.runbook_row, snapshot.rendered_row)}
    for prefix in (snapshot.RUNBOOK_PREFIX, snapshot.RENDERED_PREFIX):
        rows.update({name: None for name in store.regeneration_names(prefix) if name not in keep})
    previous = snapshot.recorded(store)
    same = previous is not None and {**previous, "taken_ns": 0} == {**payload, "taken_ns": 0}
    files = json.dumps(manifest, ensure_ascii=False)
    if store.regeneration(snapshot.FILES_RECORD) != files:
        rows[snapshot.FILES_RECORD] = files
    # a record we cannot write only costs the next run its shortcut
    with contextlib.suppress(RunbookSynthError), store.transaction():
        if rows:
            store.set_regenerations(rows)
        if not same:  # the same record: an unchanged run leaves the store as it was, byte for byte
            store.set_regeneration(snapshot.RECORD, json.dumps(payload, ensure_ascii=False, sort_keys=True))


def _fast_report(
    root: Path, folder: Path, store: StateStore, scan: snapshot.Scan, today: date, check: bool
) -> RegenerateReport | None:
    """The report of a run that would change nothing, or None when anything may have changed."""
    record = snapshot.recorded(store)
    if record is None:
        return None
    warnings = record.get("warnings")
    if warnings is None and logging.getLogger("runbook_synth").isEnabledFor(logging.WARNING):
        return None  # recorded by a quiet run, whose warnings nobody saw: this one must say them
    if record.get("inputs") != snapshot.output_inputs(scan, store, today):
        return None
    if record.get("outputs") != _outputs_digest(folder):
        return None
    dues = record.get("dues", [])
    if [due is not None and today > date.fromisoformat(due) for due in dues] != record.get("stale"):
        return None  # a runbook fell due for review since: the index changes
    if not snapshot.same_stats(record, scan):
        kept = snapshot.recorded_files(store)
        files = snapshot.unchanged_files(record, kept, scan)
        if files is None:
            return None
        if files != kept and not check:  # touched but not changed: size and mtime suffice again
            record.update(taken_ns=scan.taken_ns, stats=snapshot.stat_digest(scan), settled=snapshot.settled(scan))
            with contextlib.suppress(RunbookSynthError), store.transaction():
                store.set_regeneration(snapshot.FILES_RECORD, json.dumps(files, ensure_ascii=False))
                store.set_regeneration(snapshot.RECORD, json.dumps(record, ensure_ascii=False, sort_keys=True))
    for name, level, message in warnings or []:
        logging.getLogger(str(name)).log(int(level), "%s", message)
    results = tuple(
        RunbookResult(str(name), str(kind), str(scope), Outcome(outcome), str(reason))
        for name, kind, scope, outcome, reason in record.get("results", [])
    )
    return RegenerateReport(results, Outcome.UNCHANGED, check, _relative(folder, root))


@contextlib.contextmanager
def _captured_warnings() -> Iterator[list[tuple[str, int, str]] | None]:
    """The warnings a run logs, kept so a run that skips everything says them again; None when warnings are
    off (a quiet run), so a later run that shows them takes the full path."""
    top = logging.getLogger("runbook_synth")
    if not top.isEnabledFor(logging.WARNING):
        yield None
        return
    collected: list[tuple[str, int, str]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            collected.append((record.name, record.levelno, record.getMessage()))

    handler = Collect(logging.WARNING)
    top.addHandler(handler)
    try:
        yield collected
    finally:
        top.removeHandler(handler)


@contextlib.contextmanager
def _store(root: Path, check: bool, rebuild: bool) -> Iterator[StateStore]:
    """Read-only for check (it must not create or touch a file), writable otherwise."""
    store = StateStore.open(root, readonly=check and not rebuild, rebuild=rebuild)
    try:
        yield store
    finally:
        store.close()


def choose_patterns(found: Sequence[Pattern], names: Sequence[str]) -> tuple[Pattern, ...]:
    """The ready patterns, or those the names pick (a runbook name like `deployment-lambda`, or a type)."""
    if not names:
        return tuple(pattern for pattern in found if pattern.enough_runs)
    by_name = {runbook_name(p.operation_type, p.scope): p for p in found}
    chosen: dict[str, Pattern] = {}
    for name in names:
        wanted = slug(name.removesuffix(".md"))
        matches = [p for key, p in by_name.items() if key == wanted or slug(p.operation_type) == wanted]
        if not matches:
            known = ", ".join(sorted(key for key, p in by_name.items() if p.enough_runs)) or "none"
            raise RunbookSynthError(
                f"regenerate {name}: no pattern of that name under the root; ready ones: {known} (see `runbook list`)"
            )
        for pattern in matches:
            chosen[runbook_name(pattern.operation_type, pattern.scope)] = pattern
    return tuple(chosen[key] for key in sorted(chosen))


def _kept(
    root: Path,
    folder: Path,
    mined: MinedCorpus,
    pattern: Pattern,
    settings: Settings,
    store: StateStore,
    force: bool,
    templates_dir: Path | None,
) -> _Plan | str:
    """The plan of a pattern that is not mined now (not ready, or its sources unchanged since the runbook on
    disk was written); otherwise its sources digest, for `_plan` once it is mined."""
    name = runbook_name(pattern.operation_type, pattern.scope)
    markdown_path, json_path = folder / f"{name}.md", twin_path(folder, name)
    if not pattern.enough_runs:
        reason = f"{pattern.executions} of {pattern.min_runs} runs needed"
        return _Plan(RunbookResult(name, pattern.operation_type, pattern.scope, Outcome.NOT_READY, reason))
    digest = sources_digest(mined, pattern, settings, templates_dir)
    record = store.runbook_record(name)
    old_twin = read_twin(json_path) if not force and record and record.sources_digest == digest else None
    if old_twin is not None and markdown_path.is_file():
        unchanged = RunbookResult(name, pattern.operation_type, pattern.scope, Outcome.UNCHANGED)
        return _Plan(unchanged, twin=old_twin, digest=digest, steps=len(old_twin.get("steps", [])))
    return digest


# A pattern of fewer runs is mined in this process: forking costs more than it saves.
FORK_MIN_RUNS = 400


def _mine_all(
    mined: MinedCorpus,
    patterns: Sequence[Pattern],
    settings: Settings,
    today: date,
    progress: Progress | None,
    total: int,
) -> list[Runbook | str]:
    """Each pattern's runbook, or why mining gave no step; in forked processes on every core when there is
    enough to mine (`processes.forked_map`: the corpus is inherited, the runbooks come back), the biggest
    first. The same runbooks either way: mining is a pure function of the corpus."""
    from runbook_synth.processes import cores, fork_available, forked_map

    def one(pattern: Pattern) -> Runbook | str:
        try:
            return mine_runbook(mined, pattern, settings, today)
        except EmptyRunbookError as error:
            return str(error)

    offset = total - len(patterns)

    def say(done: int, pattern: Pattern) -> None:
        if progress is not None:
            progress(offset + done, total, runbook_name(pattern.operation_type, pattern.scope))

    big = sum(1 for pattern in patterns if pattern.executions >= FORK_MIN_RUNS)
    workers = min(cores(), big) if fork_available() else 1
    if workers <= 1:
        answers: list[Runbook | str] = []
        for done, pattern in enumerate(patterns):
            say(done, pattern)
            answers.append(one(pattern))
        return answers
    order = sorted(range(len(patterns)), key=lambda i: (-patterns[i].executions, i))
    biggest_first = [patterns[i] for i in order]
    answers = forked_map(one, biggest_first, workers, lambda done, index: say(done, biggest_first[index]))
    by_index = dict(zip(order, answers, strict=True))
    return [by_index[i] for i in range(len(patterns))]


def _plan(
    root: Path,
    folder: Path,
    pattern: Pattern,
    mined_runbook: Runbook | str,
    digest: str,
    store: StateStore,
    force: bool,
    templates_dir: Path | None,
) -> _Plan:
    """What regenerating a mined pattern writes (nothing yet): the runbook and its twin, unless they say the
    same, or a refusal when it would lose what the runbook on disk has."""
    from runbook_synth.render import to_json_dict

    name = runbook_name(pattern.operation_type, pattern.scope)
    markdown_path, json_path = folder / f"{name}.md", twin_path(folder, name)
    files = (_relative(markdown_path, root), _relative(json_path, root))
    if isinstance(mined_runbook, str):
        reason = mined_runbook
        return _Plan(RunbookResult(name, pattern.operation_type, pattern.scope, Outcome.NOT_READY, reason), steps=0)
    runbook = mined_runbook
    record = store.runbook_record(name)
    old_twin = read_twin(json_path)
    mined_json = json.dumps(to_json_dict(runbook), ensure_ascii=False, sort_keys=True)
    steps = len(runbook.steps)
    if old_twin is not None and _same_content(old_twin, to_json_dict(runbook)):
        runbook = replace(runbook, generated=str(old_twin.get("generated", runbook.generated)))
    reason = "" if force else downgrade(baseline(old_twin, record), runbook)
    if reason:
        refused = RunbookResult(name, pattern.operation_type, pattern.scope, Outcome.REFUSED, reason)
        return _Plan(refused, twin=old_twin, digest=digest, steps=steps, mined_json=mined_json)
    twin = to_json_dict(runbook)
    markdown, rendered = _library_markdown(runbook, templates_dir)
    texts = ((json_path, twin_text(twin)), (markdown_path, markdown))
    outcomes = [_compare(path, text) for path, text in texts]
    new_record = RunbookRecord(
        name,
        pattern.operation_type,
        pattern.scope,
        digest,
        _all_sources(runbook),
        runbook.run_count,
        len(runbook.steps),
        runbook.generated,
    )
    plan = _Plan(
        RunbookResult(name, pattern.operation_type, pattern.scope, Outcome.UNCHANGED),
        twin=twin,
        record=new_record,
        digest=digest,
        steps=steps,
        mined_json=mined_json,
        rendered=rendered,
    )
    if not any(outcome.writes for outcome in outcomes):
        return plan
    outcome = Outcome.CREATED if Outcome.CREATED in outcomes else Outcome.UPDATED
    written = tuple(text for text, change in zip(texts, outcomes, strict=True) if change.writes)
    return replace(plan, result=replace(plan.result, outcome=outcome, files=files), texts=written)


def _library_markdown(runbook: Runbook, templates_dir: Path | None) -> tuple[str, str | None]:
    """The runbook's markdown, and in the packaged template its undated text for `generate` to answer from:
    rendered once, with the date mark, and dated by replacing it."""
    from runbook_synth.render import render_markdown

    if templates_dir is not None:
        return render_markdown(runbook, templates_dir), None
    undated = render_markdown(replace(runbook, generated=snapshot.DATE_MARK))
    rendered = snapshot.rendered_payload(undated, RunbookSummary.of(runbook))
    if rendered is None:
        return render_markdown(runbook), None
    return snapshot.dated(undated, runbook.generated), rendered


def _same_content(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Equal but for the generation date: the runbook says the same thing, so it keeps its old date."""
    return {k: v for k, v in old.items() if k != "generated"} == {k: v for k, v in new.items() if k != "generated"}


def _compare(path: Path, text: str) -> Outcome:
    if path.is_symlink() or not path.is_file():
        return Outcome.CREATED
    try:
        same = path.read_bytes() == text.encode("utf-8")
    except OSError:
        return Outcome.UPDATED
    return Outcome.UNCHANGED if same else Outcome.UPDATED


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# --- the index ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """When a runbook is due for review, from its last validation and its review frequency."""

    due: date | None
    stale: bool

    @property
    def status(self) -> str:
        if self.due is None:
            return "unknown"
        return f"overdue since {self.due.isoformat()}" if self.stale else f"due {self.due.isoformat()}"


def review(last_validated: str, frequency: str, today: date) -> Review:
    """Staleness against the review frequency; the index shows only the due date and whether it passed, so it
    changes on the day a runbook goes stale, not every day."""
    days = REVIEW_DAYS.get(frequency.strip().lower())
    try:
        validated = date.fromisoformat(last_validated)
    except (TypeError, ValueError):
        return Review(None, False)
    if days is None:
        return Review(None, False)
    due = validated + timedelta(days=days)
    return Review(due, today > due)


def index_context(twins: Mapping[str, Mapping[str, Any]], today: date) -> dict[str, Any]:
    """What index.md.j2 sees: one row per runbook, and the quick reference by scenario."""
    rows: list[dict[str, Any]] = []
    scenarios: list[dict[str, Any]] = []
    for name in sorted(twins):
        twin = twins[name]
        state = review(str(twin.get("last_validated", "")), str(twin.get("review_frequency", "")), today)
        row = {
            "name": name,
            "file": f"{name}.md",
            "operation_type": str(twin.get("operation_type", "")),
            "scope": str(twin.get("scope", "")) or "all scopes",
            "run_count": int(twin.get("run_count", 0)),
            "steps": len(twin.get("steps", [])),
            "last_validated": str(twin.get("last_validated", "")) or "never",
            "review_frequency": str(twin.get("review_frequency", "")) or "unset",
            "review": state.status,
            "stale": state.stale,
        }
        rows.append(row)
        if row["operation_type"] == OperationType.INCIDENT_RESPONSE and twin.get("scope"):
            scenarios.append({"scenario": str(twin["scope"]), "runbook": name, "file": row["file"], "where": ""})
        for number, entry in enumerate(twin.get("troubleshooting", []), start=1):
            scenarios.append(
                {
                    "scenario": " ".join(str(entry.get("title", "")).split()),
                    "runbook": name,
                    "file": row["file"],
                    "where": f"Troubleshooting issue {number}, seen {entry.get('occurrences', 0)}x",
                }
            )
    scenarios.sort(key=lambda item: (item["scenario"].lower(), item["runbook"], item["where"]))
    return {"runbooks": rows, "scenarios": scenarios, "stale": [row for row in rows if row["stale"]]}


def render_index(twins: Mapping[str, Mapping[str, Any]], today: date, templates_dir: Path | None = None) -> str:
    return render_named(INDEX_TEMPLATE, index_context(twins, today), templates_dir)


def render_named(name: str, context: Mapping[str, Any], templates_dir: Path | None = None) -> str:
    """A packaged (or user-overridden) template other than the runbook's, with one-line errors."""
    from runbook_synth.render import render_template

    return render_template(name, dict(context), templates_dir)
