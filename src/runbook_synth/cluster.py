"""Group observations into patterns (operation type × scope) and failures by their templated error.

Free-text scopes ("API timeout", "api timeouts on /reports") are merged with TF-IDF character n-grams
and agglomerative clustering (deterministic); errors are grouped with rapidfuzz.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz

from runbook_synth.classify import COMPONENT_KEYWORDS, classify, scope_similarity
from runbook_synth.errors import NotEnoughRunsError, RunbookSynthError
from runbook_synth.models import Classification, Corpus, Observation, OperationType, Pattern, Selection, SourceKind
from runbook_synth.shell import strip_wrappers, words


def classifications(corpus: Corpus) -> dict[str, Classification]:
    """Type and scope of every observation: by its own words first, then by what its runs did (groups whose
    executions run the same commands are one procedure, whatever their notes were called)."""
    found = {observation.path: classify(observation) for observation in corpus.observations}
    merged = merge_free_text_scopes(
        [c.scope for c in found.values() if c.scope not in COMPONENT_KEYWORDS and c.scope != "general"]
    )
    named = {path: Classification(c.operation_type, merged.get(c.scope, c.scope)) for path, c in found.items()}
    return regroup_by_commands(corpus, named)


CONTENT_MERGE = 0.6
"""Two groups whose executions share this much of their command vocabulary (Jaccard) are one procedure."""
CROSS_TYPE_MERGE = 0.85
"""Groups their notes call different types merge only when they did nearly the same commands; the type most
of their runs were called wins ("deployed … with a longer timeout" does not make a deployment an incident)."""


_VERB = re.compile(r"^[a-z][a-z0-9-]*$")


def command_vocabulary(observation: Observation) -> frozenset[str]:
    """What a run did, as the set of its command verbs (`aws ecs update-service`, `docker push`, `curl`):
    the program and the sub-commands after it, never the values, so staging and prod runs look alike."""
    verbs: set[str] = set()
    for run in observation.commands[:500]:
        tokens = words(strip_wrappers(run.command.split("\n", 1)[0]))
        if not tokens:
            continue
        found = [tokens[0].rsplit("/", 1)[-1]]
        for token in tokens[1:]:
            if len(found) == 3 or not _VERB.match(token):
                break
            found.append(token)
        verbs.add(" ".join(found))
    return frozenset(verbs)


def regroup_by_commands(corpus: Corpus, found: dict[str, Classification]) -> dict[str, Classification]:
    """Merge (type, scope) groups of executions that did the same thing.

    Groups are compared by the command vocabulary most of their runs share; the larger group's type wins
    unless it is `other`, and the label becomes the words the labels share (or the larger group's).
    Deterministic: groups are visited largest first, ties by name.
    """
    members: dict[tuple[str, str], list[Observation]] = defaultdict(list)
    for observation in corpus.observations:
        if observation.is_execution:
            classification = found[observation.path]
            members[(classification.operation_type, classification.scope)].append(observation)
    if len(members) < 2:
        return found
    vocabularies = {key: _core_vocabulary(runs) for key, runs in members.items()}
    order = sorted(members, key=lambda key: (-len(members[key]), key))
    target: dict[tuple[str, str], tuple[str, str]] = {}
    for index, key in enumerate(order):
        if key in target or not vocabularies[key]:
            continue
        for other in order[index + 1 :]:
            if other in target or not vocabularies[other]:
                continue
            similarity = _jaccard(vocabularies[key], vocabularies[other])
            across = key[0] != other[0] and OperationType.OTHER.value not in (key[0], other[0])
            if similarity >= (CROSS_TYPE_MERGE if across else CONTENT_MERGE):
                target[other] = key
    if not target:
        return found
    labels: dict[tuple[str, str], tuple[str, str]] = {}
    for key in order:
        if key in target:
            continue
        group = [key, *(other for other, into in target.items() if into == key)]
        votes: Counter[str] = Counter()
        for member in group:
            if member[0] != OperationType.OTHER.value:
                votes[member[0]] += len(members[member])
        kind = max(sorted(votes), key=lambda name: votes[name]) if votes else key[0]
        labels[key] = (kind, _shared_label([k[1] for k in group], key[1]))
    remapped: dict[str, Classification] = {}
    by_old = {old: labels[target.get(old, old)] for old in members}
    for path, classification in found.items():
        new = by_old.get((classification.operation_type, classification.scope))
        remapped[path] = Classification(*new) if new else classification
    return remapped


def _core_vocabulary(runs: Sequence[Observation]) -> frozenset[str]:
    """Skeletons seen in at least half of a group's runs (all of them for a single run)."""
    counts: Counter[str] = Counter()
    for run in runs:
        counts.update(command_vocabulary(run))
    needed = max(1, (len(runs) + 1) // 2)
    return frozenset(word for word, count in counts.items() if count >= needed)


def _jaccard(first: frozenset[str], second: frozenset[str]) -> float:
    return len(first & second) / len(first | second) if first or second else 0.0


def _shared_label(labels: Sequence[str], fallback: str) -> str:
    """The largest group's component; else the words most free-text labels share, in the first label's order;
    else the largest group's label."""
    if fallback in COMPONENT_KEYWORDS:
        return fallback
    free = [label for label in labels if label not in COMPONENT_KEYWORDS and label != "general"]
    if not free:
        return fallback
    counts = Counter(word for label in free for word in set(label.split()))
    shared = [word for word in free[0].split() if counts[word] * 2 > len(free)]
    return " ".join(shared) or fallback


def merge_free_text_scopes(labels: Sequence[str], distance: float = 0.55) -> dict[str, str]:
    """Map near-identical free-text scopes to one label (the most frequent of its cluster)."""
    unique = sorted(set(labels))
    if len(unique) < 2:
        return {label: label for label in unique}
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(unique).toarray()
    assignment = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    ).fit_predict(vectors)
    counts = Counter(labels)
    groups: dict[int, list[str]] = defaultdict(list)
    for label, group in zip(unique, assignment, strict=True):
        groups[int(group)].append(label)
    mapping: dict[str, str] = {}
    for members in groups.values():
        canonical = max(sorted(members), key=lambda label: (counts[label], -len(label)))
        for member in members:
            mapping[member] = canonical
    return mapping


def select(
    corpus: Corpus, found: dict[str, Classification], operation_type: str, scope: str, threshold: float
) -> Selection:
    """Executions, failures and journals for (type, scope).

    A scope that is a pattern's label (any label `runbook list` prints) selects exactly that pattern's
    members, so `list` and `generate` agree; other text is matched by similarity (`"queue backlog"`).
    `found` is `classifications(corpus)`, computed once per corpus by the caller.
    """
    wanted = " ".join(scope.lower().split())
    labels = {classification.scope for classification in found.values()}
    exact = wanted in labels
    executions: list[Observation] = []
    failures: list[Observation] = []
    journals: list[Observation] = []
    related: list[Observation] = []
    write_ups: list[Observation] = []
    others: Counter[str] = Counter()
    for observation in corpus.observations:
        classification = found[observation.path]
        if exact:
            if classification.scope != wanted:
                continue
        elif scope_similarity(scope, observation, classification) < threshold:
            continue
        same_type = classification.operation_type == operation_type
        if observation.kind == SourceKind.JOURNAL:
            if same_type:
                journals.append(observation)
            elif observation.is_error_journal:
                related.append(observation)
            continue
        if not same_type:
            if observation.is_execution:
                others[classification.operation_type] += 1
            if observation.kind == SourceKind.FAILURE:
                related.append(observation)
            continue
        if observation.kind == SourceKind.FAILURE:
            failures.append(observation)
            if operation_type == OperationType.INCIDENT_RESPONSE and observation.commands:
                write_ups.append(observation)
        elif observation.is_execution:
            executions.append(observation)
    # With no execution notes at all, incident write-ups that recorded their detection, triage and mitigation
    # commands are the runs (the /runbook spec mines incident runbooks from failures, journals and alarms).
    return Selection(
        operation_type,
        scope,
        tuple(executions or write_ups),
        tuple(failures),
        tuple(journals),
        tuple(sorted(others.items())),
        tuple(related),
    )


def patterns(corpus: Corpus, found: dict[str, Classification], min_runs: int) -> tuple[Pattern, ...]:
    """Every (type, scope) found, with counts; the journals counted are those that name the pattern."""
    executions: Counter[tuple[str, str]] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    journals: Counter[tuple[str, str]] = Counter()
    for observation in corpus.observations:
        classification = found[observation.path]
        key = (classification.operation_type, classification.scope)
        if observation.kind == SourceKind.FAILURE:
            failures[key] += 1
        elif observation.kind == SourceKind.JOURNAL:
            journals[key] += 1
        elif observation.is_execution:
            executions[key] += 1
    keys = sorted(set(executions) | set(failures))
    return tuple(
        Pattern(op, scope, executions[(op, scope)], failures[(op, scope)], journals[(op, scope)], min_runs)
        for op, scope in keys
    )


def group_by_similarity(keys: Sequence[str], threshold: float = 90.0) -> list[int]:
    """Greedy, order-stable grouping: each key joins the first group whose representative is similar.

    Plain edit-distance ratio: a token-set score would call `Waiter DBClusterSnapshotAvailable failed`
    and `Waiter DBInstanceAvailable failed` the same error.
    """
    representatives: list[str] = []
    assignment: list[int] = []
    for key in keys:
        for index, representative in enumerate(representatives):
            if key == representative or fuzz.ratio(key, representative) >= threshold:
                assignment.append(index)
                break
        else:
            representatives.append(key)
            assignment.append(len(representatives) - 1)
    return assignment


def require_enough_runs(selection: Selection, min_runs: int) -> None:
    """Fewer executions than a pattern needs is an error that says what was found instead."""
    if len(selection.executions) >= min_runs:
        return
    scope = f" {selection.scope}" if selection.scope else ""
    found = len(selection.executions)
    noun = "execution" if found == 1 else "executions"
    message = f"found {found} recorded {noun} of {selection.operation_type}{scope}"
    if selection.executions:
        message += " (" + ", ".join(obs.path for obs in selection.executions[:3]) + ")"
    message += f"; a runbook needs at least {min_runs} (--min-runs) to find a pattern."
    if selection.other_types:
        others = ", ".join(f"{count} {name}" for name, count in selection.other_types)
        message += f" Matching executions of other types: {others}."
    message += " Record more runs with `/observe execution` and try again, or see `runbook list`."
    raise NotEnoughRunsError(message)


def only_ready_scope(found: Sequence[Pattern], operation_type: str) -> str:
    """With no scope given, the one scope of this type that has enough runs; several is a question to ask."""
    ready = [p for p in found if p.operation_type == operation_type and p.enough_runs]
    if len(ready) > 1:
        choices = ", ".join(f"{p.scope} ({p.executions} runs)" for p in ready)
        known = {item.value for item in OperationType.commands()}
        command = operation_type if operation_type in known else f"generate {operation_type}"
        raise RunbookSynthError(
            f"{operation_type} has runs for {len(ready)} scopes: {choices}; name one, "
            f"e.g. `runbook {command} {shlex.quote(ready[0].scope)}`"
        )
    if ready:
        return ready[0].scope
    closest = sorted((p for p in found if p.operation_type == operation_type), key=lambda p: (-p.executions, p.scope))
    if not closest:
        raise NotEnoughRunsError(
            f"found 0 recorded executions of {operation_type}; record runs with `/observe execution`, "
            "or see `runbook list` for what was found"
        )
    named = ", ".join(f"{p.scope} ({p.executions} of {p.min_runs} runs)" for p in closest[:3])
    raise NotEnoughRunsError(
        f"no scope of {operation_type} has enough runs for a runbook; closest: {named}. "
        "Name one to see what is missing, or lower --min-runs"
    )
