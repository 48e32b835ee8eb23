"""What went wrong, and what fixed it: failure events from failure notes, journals and retried commands,
grouped by templated error into troubleshooting entries, and "If Failed" advice on the steps they struck."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from rapidfuzz import fuzz

from runbook_synth.align import KeyIndex
from runbook_synth.cluster import group_by_similarity
from runbook_synth.models import (
    Alignment,
    CloudWatchEvidence,
    FailureDetail,
    FailureEvent,
    FailureSource,
    Observation,
    Provenance,
    Selection,
    Step,
    TroubleshootingEntry,
)
from runbook_synth.normalize import PlaceholderNames, error_key, headline, mask_text, template_commands
from runbook_synth.steps import StepsOfKey

EntryWithKeys = tuple[TroubleshootingEntry, set[int]]
"""A troubleshooting entry and the key ids of the commands that failed in it."""


def failure_events(selection: Selection, alignment: Alignment) -> tuple[FailureEvent, ...]:
    """Every time something went wrong in the selection: failure notes, retry episodes of the runs, journals."""
    events: list[FailureEvent] = []
    notes = [(note, False) for note in selection.failures]
    notes += [(note, True) for note in selection.related_failures if not note.is_error_journal]
    for note, related in notes:
        detail = note.failure
        if detail is None or not detail.headline_error.strip():
            continue
        events.append(_lesson_event(note, detail, detail.headline_error, FailureSource.FAILURE_NOTE, related))
    for run in alignment.runs:
        observation = alignment.executions[run.run]
        for episode in run.episodes:
            failed = episode.failed
            events.append(
                FailureEvent(
                    failed.output or f"`{failed.command}` failed (exit {failed.exit_code})",
                    failed.command,
                    observation.day,
                    failed.provenance,
                    FailureSource.RETRY,
                    fixes=episode.fixes,
                    run=run.run,
                )
            )
    journals = [(journal, False) for journal in selection.journals]
    journals += [(journal, True) for journal in selection.related_failures if journal.is_error_journal]
    for journal, related in journals:
        detail = journal.failure
        if detail is None or (journal.category != "error" and not (detail.root_cause and detail.error_messages)):
            continue
        events.append(
            _lesson_event(journal, detail, detail.headline_error or journal.title, FailureSource.JOURNAL, related)
        )
    return tuple(events)


def _lesson_event(
    source: Observation, detail: FailureDetail, error: str, kind: FailureSource, related: bool
) -> FailureEvent:
    """A failure note or a journal as one failure event, with what it teaches (cause, fix, prevention)."""
    return FailureEvent(
        error,
        detail.failed_command,
        source.day,
        Provenance(source.path),
        kind,
        cause=detail.root_cause,
        solution=detail.fix_commands,
        prevention=detail.prevention,
        title=source.title,
        related=related,
    )


def _teaches(event: FailureEvent) -> bool:
    """Journals, and failure notes that recorded a cause or a fix, say why and what to do."""
    return event.kind == FailureSource.JOURNAL or bool(event.cause or event.solution)


def troubleshooting(
    events: Sequence[FailureEvent], alignment: Alignment, step_keys: set[int], names: PlaceholderNames
) -> list[EntryWithKeys]:
    """Entries grouped by templated error, most frequent first.

    A group made only of failures from other operation types is kept only when one struck a step's command.
    """
    keys = KeyIndex.of(alignment)
    keyed = [(error_key(event.error), event) for event in events if event.error.strip()]
    assignment = group_by_similarity([key for key, _ in keyed])
    groups: dict[int, list[FailureEvent]] = defaultdict(list)
    for (_, event), group in zip(keyed, assignment, strict=True):
        groups[group].append(event)
    entries: list[EntryWithKeys] = []
    for members in groups.values():
        if all(event.related for event in members) and not any(
            event.command and keys.id_of(event.command) in step_keys for event in members
        ):
            continue
        teachers = [event for event in members if _teaches(event)]
        occurrences = [event for event in members if event.kind != FailureSource.JOURNAL] or members
        symptoms = tuple(dict.fromkeys(mask_text(headline(event.error)) for event in members if headline(event.error)))
        # This operation's own journal or note first, then what the runs did to recover, then a related one.
        teachers.sort(
            key=lambda event: (
                not event.related,
                event.kind == FailureSource.JOURNAL,
                event.day or date.min,
                event.source,
            )
        )
        teacher = teachers[-1] if teachers else None
        observed_fix = _fix_commands(members, names)
        if teacher and teacher.solution and not (teacher.related and observed_fix):
            solution = teacher.solution
        else:
            solution = observed_fix
        cause = next((event.cause for event in reversed(teachers) if event.cause), "")
        prevention = next((event.prevention for event in reversed(teachers) if event.prevention), "")
        days = [event.day for event in members if event.day]
        titled = next((e.title for e in reversed(teachers) if e.title and e.kind == FailureSource.JOURNAL), "")
        title = titled or _title_from_error(symptoms[0] if symptoms else "")
        key_ids = {keys.id_of(event.command) for event in members if event.command}
        entries.append(
            (
                TroubleshootingEntry(
                    title=title,
                    symptoms=symptoms[:3],
                    cause=cause,
                    solution=solution,
                    prevention=prevention,
                    occurrences=len(occurrences),
                    last_seen=max(days).isoformat() if days else "",
                    sources=tuple(sorted({event.source for event in members})),
                ),
                key_ids,
            )
        )
    entries.sort(key=lambda item: (-item[0].occurrences, item[0].title))
    return entries


def _fix_commands(events: Sequence[FailureEvent], names: PlaceholderNames) -> tuple[str, ...]:
    """The fix commands most retry episodes ran, templated across them, then "re-run the command"."""
    with_fixes = [event for event in events if event.kind == FailureSource.RETRY]
    if not with_fixes:
        return ()
    keys = KeyIndex()
    sequences = Counter(tuple(keys.id_of(fix.command) for fix in event.fixes) for event in with_fixes)
    best = max(sorted(sequences), key=lambda sequence: sequences[sequence])
    chosen = [event for event in with_fixes if tuple(keys.id_of(fix.command) for fix in event.fixes) == best]
    commands: list[str] = []
    for position in range(len(best)):
        built = template_commands([(event.run, event.fixes[position].command) for event in chosen], names)
        commands.append(built.template)
    retry = template_commands([(event.run, event.command) for event in chosen], names).template
    return (*commands, retry)


def _title_from_error(symptom: str) -> str:
    text = re.sub(r"^(?:error|fatal|exception)\s*[:\-]\s*", "", symptom.strip(), flags=re.IGNORECASE)
    text = re.sub(r"^An error occurred \((\w+)\) when calling the (\w+) operation.*", r"\1 on \2", text)
    return (text[:77] + "...") if len(text) > 80 else text or "Unrecognized failure"


def attach_if_failed(steps: Sequence[Step], step_of_key: StepsOfKey, entries: Sequence[EntryWithKeys]) -> list[Step]:
    """Each step whose command failed in an entry points to that entry."""
    advice: dict[int, list[str]] = defaultdict(list)
    for entry, key_ids in entries:
        for key_id in sorted(key_ids):
            for number in step_of_key.get(key_id, []):
                line = f"Check: {entry.symptoms[0] if entry.symptoms else entry.title}"
                advice[number].append(f"{line} (see Troubleshooting: {entry.title}; seen {entry.occurrences}x)")
    return [replace(step, if_failed=tuple(dict.fromkeys(advice.get(step.number, [])))) for step in steps]


def failure_count(selection: Selection, alignment: Alignment) -> int:
    return len(selection.failures) + sum(len(run.episodes) for run in alignment.runs)


def with_log_errors(entries: Sequence[EntryWithKeys], evidence: CloudWatchEvidence | None) -> list[EntryWithKeys]:
    """Error groups from the logs join the entry whose symptom they match, or become entries of their own."""
    merged = list(entries)
    if evidence is None:
        return merged
    for group in evidence.error_groups:
        source = Provenance(f"cloudwatch:{group.log_group}")
        key = error_key(group.sample or group.template)
        day = group.last_seen[:10]
        for index, (entry, keys) in enumerate(merged):
            if any(fuzz.partial_ratio(error_key(symptom), key) >= 85 for symptom in entry.symptoms):
                merged[index] = (
                    replace(
                        entry,
                        sources=tuple(sorted({*entry.sources, source})),
                        solution=entry.solution or (group.tail_command,),
                        last_seen=max(entry.last_seen, day),
                    ),
                    keys,
                )
                break
        else:
            merged.append(
                (
                    TroubleshootingEntry(
                        title=_title_from_error(group.template),
                        symptoms=(group.template,),
                        cause="",
                        solution=(group.tail_command,),
                        prevention="",
                        occurrences=group.count,
                        last_seen=day,
                        sources=(source,),
                    ),
                    set(),
                )
            )
    merged.sort(key=lambda item: (-item[0].occurrences, item[0].title))
    return merged
