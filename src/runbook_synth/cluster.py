"""Group observations into patterns (operation type × scope) and failures by their templated error.

Free-text scopes ("API timeout", "api timeouts on /reports") are merged with TF-IDF character n-grams
and average-linkage clustering (scipy, deterministic); errors are grouped with rapidfuzz.
"""

from __future__ import annotations

import math
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from rapidfuzz import fuzz

from runbook_synth.classify import (
    COMPONENT_KEYWORDS,
    VERB,
    ObservationFacts,
    component_of,
    facts_of,
    group_operation_type,
    names_every_word,
    scope_similarity,
    scope_words,
    words_named,
    words_of,
)
from runbook_synth.errors import NotEnoughRunsError, RunbookSynthError
from runbook_synth.models import (
    TYPE_ALIASES,
    Classification,
    Corpus,
    Observation,
    OperationType,
    Pattern,
    Selection,
    SourceKind,
)
from runbook_synth.normalize import mask_text, mentions_error
from runbook_synth.shell import strip_wrappers, words


def observation_facts(corpus: Corpus, observation: Observation) -> ObservationFacts:
    """What classification reads of an observation: as ingest kept it, else worked out now."""
    known = corpus.facts.get(observation.path)
    return known if known is not None else facts_of(observation)


def classifications(corpus: Corpus) -> dict[str, Classification]:
    """Type and scope of every observation: executions are grouped by what their commands did, then each
    group is named by the evidence of all its runs; notes without commands keep what their words say.

    Free-text scopes that are near-identical are merged first, so their words group before the commands do.
    """
    found = {
        observation.path: observation_facts(corpus, observation).classification for observation in corpus.observations
    }
    merged = merge_free_text_scopes(
        [c.scope for c in found.values() if c.scope not in COMPONENT_KEYWORDS and c.scope != "general"]
    )
    named = {path: Classification(c.operation_type, merged.get(c.scope, c.scope)) for path, c in found.items()}
    return group_by_content(corpus, named)


CONTENT_DISTANCE = 0.7
"""Runs whose command verbs (TF-IDF, cosine, average linkage) are closer than this are one candidate
procedure. Loose on purpose: runs with optional steps and stray commands still group; the split below keeps
procedures apart that the notes name differently and the commands tell apart."""
SAME_PROCEDURE = 0.7
"""Inside a candidate, runs the notes call different types stay one procedure when their commands are this
alike (centroid cosine): the words disagree, the commands do not ("deployed …", "scaled …", "migrated …"
over the same `fly scale count`). Below it the words are believed (a rollback that shares a deployment's
`aws lambda` commands but not its build)."""
MAX_LINKED = 2000
"""Distinct command-verb sets clustered pairwise; rarer sets join the nearest group (near-linear at scale)."""

Vector = dict[str, float]


def group_by_content(corpus: Corpus, found: dict[str, Classification]) -> dict[str, Classification]:
    """Group executions by their commands, split where the notes name types the commands also tell apart,
    and name each group by all its runs' evidence (`operation_votes`, the scopes its runs were given).

    Failures, journals and runs without commands follow their word label to the group most of that label's
    executions joined; a failure or journal whose label no run has joins the group whose program and
    sub-command it names (`_group_named_by_commands`), else the group whose runs printed its error
    (`_group_named_by_errors`). Deterministic: runs are visited in path order, groups
    largest first.
    """
    executions = sorted((o for o in corpus.observations if o.is_execution), key=lambda o: o.path)
    vocabularies = {o.path: observation_facts(corpus, o).verbs for o in executions}
    runs = [o for o in executions if vocabularies[o.path]]
    if len(runs) < 2:
        return found
    vectors = _tfidf([vocabularies[o.path] for o in runs])
    by_path = dict(zip((o.path for o in runs), vectors, strict=True))
    groups: list[list[Observation]] = []
    for candidate in content_clusters(runs, vectors):
        groups.extend(_split_by_stated_type(candidate, found, by_path))
    result = dict(found)
    moved: dict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
    labelled = [(_group_label(group, found, corpus), group) for group in groups]
    for label, group in labelled:
        for observation in group:
            old = found[observation.path]
            moved[(old.operation_type, old.scope)][label] += 1
            result[observation.path] = Classification(*label)
    programs: list[tuple[tuple[str, str], list[str]]] | None = None
    errors: dict[str, set[tuple[str, str]]] | None = None
    for observation in corpus.observations:
        if observation.path in by_path:
            continue
        old = found[observation.path]
        targets = moved.get((old.operation_type, old.scope))
        if targets:
            label = max(sorted(targets), key=lambda key: targets[key])
            result[observation.path] = Classification(*label)
        elif observation.kind in (SourceKind.FAILURE, SourceKind.JOURNAL):
            if programs is None:
                programs = [(label, _group_verbs(group)) for label, group in labelled]
            named = _group_named_by_commands(observation, programs)
            if named is None:
                if errors is None:
                    errors = _group_errors(labelled)
                named = _group_named_by_errors(observation, errors)
            if named is not None:
                result[observation.path] = Classification(*named)
    return result


ERROR_LINE = 16
"""Characters a masked error line needs before it can name a group: "Error" or "failed" alone says nothing."""


def _error_lines(text: str) -> set[str]:
    """The masked lines of an error text long enough to tell one error from another (ids, numbers and
    digests masked, so the same error in another run is the same line)."""
    lines = {mask_text(" ".join(line.split())) for line in text.splitlines()[:20]}
    return {line for line in lines if len(line) >= ERROR_LINE}


def _group_errors(labelled: Sequence[tuple[tuple[str, str], list[Observation]]]) -> dict[str, set[tuple[str, str]]]:
    """Each error line the groups' runs printed (commands that failed, or whose output says an error), with
    the labels of the groups that printed it."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for label, group in labelled:
        for observation in group:
            for command in observation.commands:
                if command.output and (command.failed or mentions_error(command.output)):
                    for line in _error_lines(command.output):
                        found[line].add(label)
    return found


def _group_named_by_errors(lesson: Observation, errors: dict[str, set[tuple[str, str]]]) -> tuple[str, str] | None:
    """The group a failure or journal whose words and commands match no group belongs to by its error: the
    one group whose runs' failed commands printed the error it quotes ("(Conflict) Cannot modify this site
    because another operation is in progress", in a journal that names neither the app nor `az webapp`)."""
    failure = lesson.failure
    if failure is None:
        return None
    labels: set[tuple[str, str]] = set()
    for message in failure.error_messages[:5]:
        for line in _error_lines(message):
            labels |= errors.get(line, set())
    return labels.pop() if len(labels) == 1 else None


def _group_verbs(group: Sequence[Observation]) -> list[str]:
    """A program with its sub-command that most of the group's runs run (`alembic upgrade`, and `flyway
    migrate` from `flyway -configFiles=x migrate`: flags are passed over), as words."""
    common = Counter(prefix for o in group for prefix in {_program_and_verb(run.command) for run in o.commands[:200]})
    return sorted(words_of(verb) for verb, count in common.items() if verb and count * 2 >= len(group))


def _program_and_verb(command: str) -> str:
    tokens = words(strip_wrappers(command.split("\n", 1)[0]))
    if not tokens:
        return ""
    verb = next((token for token in tokens[1:8] if not token.startswith("-") and VERB.match(token)), "")
    return f"{tokens[0].rsplit('/', 1)[-1]} {verb}" if verb else ""


def _group_named_by_commands(
    lesson: Observation, programs: Sequence[tuple[tuple[str, str], list[str]]]
) -> tuple[str, str] | None:
    """The group a failure or journal whose words match no run's label belongs to by what it names: a
    program and sub-command most of the group's runs run (`alembic upgrade` in "alembic upgrade hits lock
    timeout", or in its failed command), when the groups that run what it names are all of one label."""
    failure = lesson.failure
    text = words_of(" ".join([lesson.title, failure.failed_command if failure else "", lesson.context]))
    named = {label for label, verbs in programs if any(verb in text for verb in verbs)}
    return named.pop() if len(named) == 1 else None


def _tfidf(sets: Sequence[frozenset[str]]) -> list[Vector]:
    """Binary TF-IDF vectors, L2-normalised: a verb every run has (`curl`) says little, a rare one much."""
    document_frequency: Counter[str] = Counter(word for verbs in sets for word in verbs)
    total = len(sets)
    weight = {word: math.log((1 + total) / (1 + count)) + 1.0 for word, count in document_frequency.items()}
    cache: dict[frozenset[str], Vector] = {}
    vectors: list[Vector] = []
    for verbs in sets:
        vector = cache.get(verbs)
        if vector is None:
            norm = math.sqrt(sum(weight[word] ** 2 for word in verbs))
            vector = cache[verbs] = {word: weight[word] / norm for word in sorted(verbs)}
        vectors.append(vector)
    return vectors


def _cosine(first: Vector, second: Vector) -> float:
    if len(first) > len(second):
        first, second = second, first
    dot = sum(value * second.get(word, 0.0) for word, value in first.items())
    norms = math.sqrt(sum(v * v for v in first.values()) * sum(v * v for v in second.values()))
    return dot / norms if norms else 0.0


def _centroid(vectors: Sequence[Vector]) -> Vector:
    total: Vector = {}
    for vector in vectors:
        _add(total, vector)
    return total


def _add(total: Vector, vector: Vector) -> None:
    for word, value in vector.items():
        total[word] = total.get(word, 0.0) + value


def content_clusters(runs: Sequence[Observation], vectors: Sequence[Vector]) -> list[list[Observation]]:
    """Average-linkage clusters of the runs' command verbs (cosine distance below CONTENT_DISTANCE).

    Identical verb sets are clustered once; past MAX_LINKED distinct sets the rarest join the nearest
    cluster's centroid (or start their own), so a corpus of many thousand runs stays near-linear.
    """
    distinct: dict[tuple[str, ...], list[int]] = {}
    for index, vector in enumerate(vectors):
        distinct.setdefault(tuple(vector), []).append(index)
    keys = sorted(distinct, key=lambda key: (-len(distinct[key]), key))
    linked, rest = keys[:MAX_LINKED], keys[MAX_LINKED:]
    assignment = _linkage_clusters([vectors[distinct[key][0]] for key in linked])
    members: dict[int, list[int]] = defaultdict(list)
    for key, cluster in zip(linked, assignment, strict=True):
        members[cluster].extend(distinct[key])
    centroids = {cluster: _centroid([vectors[i] for i in indices]) for cluster, indices in members.items()}
    for key in rest:
        vector = vectors[distinct[key][0]]
        best = max(sorted(centroids), key=lambda cluster: _cosine(vector, centroids[cluster]))
        if _cosine(vector, centroids[best]) < 1.0 - CONTENT_DISTANCE:
            best = max(members) + 1
            centroids[best] = dict(vector)
        members[best].extend(distinct[key])
    clusters = [sorted((runs[i] for i in indices), key=lambda o: o.path) for indices in members.values()]
    return sorted(clusters, key=lambda group: (-len(group), group[0].path))


def _linkage_clusters(vectors: Sequence[Vector], threshold: float = CONTENT_DISTANCE) -> list[int]:
    """Average-linkage clusters under cosine distance: members of a cluster are closer than ``threshold``."""
    if len(vectors) < 2:
        return [0] * len(vectors)
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.sparse import csr_matrix

    columns = {word: index for index, word in enumerate(sorted({w for vector in vectors for w in vector}))}
    rows, cols, data = [], [], []
    for row, vector in enumerate(vectors):
        for word, value in vector.items():
            rows.append(row)
            cols.append(columns[word])
            data.append(value)
    matrix = csr_matrix((data, (rows, cols)), shape=(len(vectors), len(columns)))
    similarity = (matrix @ matrix.T).toarray()
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    upper = distance[np.triu_indices(len(vectors), k=1)]
    tree = linkage(upper, method="average")
    return [int(label) for label in fcluster(tree, t=threshold, criterion="distance")]


def _split_by_stated_type(
    candidate: list[Observation], found: dict[str, Classification], vectors: dict[str, Vector]
) -> list[list[Observation]]:
    """Split a candidate where its notes name different types and the commands agree they differ.

    Runs are grouped by their stated type (a tag's, else their words'); a smaller group joins a larger one
    unless both were tagged with their types, or their commands' centroids are less alike than
    SAME_PROCEDURE. Runs whose notes name no type join the group their commands are closest to, when they
    are as close to it as a run must be to join a cluster at all (1 - CONTENT_DISTANCE): a webhook rotation
    that shares `curl` and `aws lambda wait` with an incident's runs, and nothing else, is not one of them.
    """
    stated: dict[str, list[Observation]] = defaultdict(list)
    unnamed: list[Observation] = []
    for observation in candidate:
        kind = found[observation.path].operation_type
        (unnamed if kind == OperationType.OTHER.value else stated[kind]).append(observation)
    if not stated:
        return [candidate]
    kept: list[tuple[list[Observation], bool, Vector]] = []
    """Each kept group with its tag flag and the sum of its runs' vectors (cosine needs no mean)."""
    for kind in sorted(stated, key=lambda name: (-len(stated[name]), name)):
        group = stated[kind]
        tagged = _tagged(group)
        centroid = _centroid([vectors[o.path] for o in group])
        for other, other_tagged, other_centroid in kept:
            if tagged and other_tagged:
                continue
            if _cosine(centroid, other_centroid) >= SAME_PROCEDURE or _does_all_of(group, other, vectors):
                other.extend(group)
                _add(other_centroid, centroid)
                break
        else:
            kept.append((list(group), tagged, centroid))
    apart: list[Observation] = []
    for observation in unnamed:
        vector = vectors[observation.path]
        members, _, centroid = max(kept, key=lambda item: _cosine(vector, item[2]))
        if _cosine(vector, centroid) < 1.0 - CONTENT_DISTANCE:
            apart.append(observation)
            continue
        members.append(observation)
        _add(centroid, vector)
    groups = [sorted(group, key=lambda o: o.path) for group, _, _ in kept]
    return [*groups, apart] if apart else groups


def _does_all_of(group: Sequence[Observation], other: Sequence[Observation], vectors: dict[str, Vector]) -> bool:
    """Every run of `group` runs every command nearly all of `other`'s runs run (four in five): the same
    procedure with extra steps or stray commands ("migrated billing-api to 2.4.2" over the same build, push
    and `gcloud run deploy` plus a `gcloud auth login`), however little alike the extras make their vectors.
    A group that leaves out part of the other's core (a rollback without the build) is not."""
    counts = Counter(verb for o in other for verb in vectors[o.path])
    core = {verb for verb, count in counts.items() if count * 5 >= len(other) * 4}
    return bool(core) and all(core <= vectors[o.path].keys() for o in group)


def _scope_in(observation: Observation, kind: str, found: dict[str, Classification]) -> str:
    """A run's scope inside a group of `kind`: a symptom label ("shop api back revision") is an incident's
    scope, so a run whose words alone made it an incident, in a group that is not one, is scoped as the
    other runs are (by its component, else its context)."""
    classification = found[observation.path]
    incident = OperationType.INCIDENT_RESPONSE.value
    if classification.operation_type != incident or kind == incident:
        return classification.scope
    return component_of(observation) or classification.scope


def _tagged(group: Sequence[Observation]) -> bool:
    """Most of the group's runs carry a tag naming their type."""
    return sum(any(tag in TYPE_ALIASES for tag in o.tags) for o in group) * 2 > len(group)


def _group_label(group: Sequence[Observation], found: dict[str, Classification], corpus: Corpus) -> tuple[str, str]:
    """The group's type by the summed evidence of its runs, and its scope: when most runs have free-text
    labels that differ, the words most of those share ("billing api" from "billing api staging" and "this
    is billing api"); else the label most runs were given (a component before free text on a tie)."""
    kind = group_operation_type(observation_facts(corpus, observation).votes for observation in group)
    if not kind:
        kinds = Counter(found[o.path].operation_type for o in group)
        kind = max(sorted(kinds), key=lambda name: kinds[name])
    labels = [_scope_in(o, kind, found) for o in group]
    scopes = Counter(labels)
    free = [label for label in labels if label not in COMPONENT_KEYWORDS and label != "general"]
    if len(free) * 2 > len(group) and len(set(free)) > 1:
        counts = Counter(word for label in free for word in set(label.split()))
        first = max(sorted(set(free)), key=lambda label: (scopes[label], -len(label)))
        shared = " ".join(word for word in first.split() if counts[word] * 2 > len(free))
        if shared:
            return kind, shared
    named = [scope for scope in sorted(scopes) if scope != "general"] or sorted(scopes)
    return kind, max(named, key=lambda scope: (scopes[scope], scope in COMPONENT_KEYWORDS, -len(scope)))


def merge_free_text_scopes(labels: Sequence[str], distance: float = 0.55) -> dict[str, str]:
    """Map near-identical free-text scopes to one label (the most frequent of its cluster): TF-IDF over
    each word's character 2- to 4-grams, cosine, average linkage (the same scipy clustering the commands use)."""
    unique = sorted(set(labels))
    if len(unique) < 2:
        return {label: label for label in unique}
    assignment = _linkage_clusters(_tfidf_counts([_char_grams(label) for label in unique]), distance)
    counts = Counter(labels)
    groups: dict[int, list[str]] = defaultdict(list)
    for label, group in zip(unique, assignment, strict=True):
        groups[group].append(label)
    mapping: dict[str, str] = {}
    for members in groups.values():
        canonical = max(sorted(members), key=lambda label: (counts[label], -len(label)))
        for member in members:
            mapping[member] = canonical
    return mapping


def _char_grams(text: str) -> Counter[str]:
    """Character 2- to 4-grams inside each space-padded word (`" api"`, `"api "`), counted."""
    grams: Counter[str] = Counter()
    for word in text.lower().split():
        padded = f" {word} "
        for size in range(2, 5):
            grams.update(padded[start : start + size] for start in range(max(1, len(padded) - size + 1)))
            if len(padded) <= size:  # a short word is counted once, whole
                break
    return grams


def _tfidf_counts(documents: Sequence[Counter[str]]) -> list[Vector]:
    """Term-count TF-IDF vectors with smoothed idf, L2-normalised."""
    document_frequency: Counter[str] = Counter(term for document in documents for term in document)
    total = len(documents)
    weight = {term: math.log((1 + total) / (1 + count)) + 1.0 for term, count in document_frequency.items()}
    vectors: list[Vector] = []
    for document in documents:
        raw = {term: count * weight[term] for term, count in sorted(document.items())}
        norm = math.sqrt(sum(value * value for value in raw.values())) or 1.0
        vectors.append({term: value / norm for term, value in raw.items()})
    return vectors


def select(
    corpus: Corpus, found: dict[str, Classification], operation_type: str, scope: str, threshold: float
) -> Selection:
    """Executions, failures and journals for (type, scope).

    A scope that is a pattern's label (any label `runbook list` prints) selects exactly that pattern's
    members, so `list` and `generate` agree; other text is matched by similarity (`"queue backlog"`).
    `found` is `classifications(corpus)`, computed once per corpus by the caller.
    """
    chosen = scope_members(scope, corpus, found, threshold)
    adopt = _adopted_types(corpus, found, chosen, operation_type)
    executions: list[Observation] = []
    failures: list[Observation] = []
    journals: list[Observation] = []
    related: list[Observation] = []
    write_ups: list[Observation] = []
    others: Counter[str] = Counter()
    adopted: Counter[str] = Counter()
    for observation in corpus.observations:
        classification = found[observation.path]
        if observation.path not in chosen:
            continue
        same_type = classification.operation_type == operation_type or (classification.operation_type in adopt)
        if observation.kind == SourceKind.JOURNAL:
            if same_type or _named_lesson(scope, observation, classification):
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
            if classification.operation_type != operation_type:
                adopted[classification.operation_type] += 1
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
        tuple(sorted(adopted.items())) if executions else (),
    )


class Selections:
    """`select` over one corpus and its classifications, each (type, scope) computed once: the survey, the
    sources digest of a regeneration and mining ask for the same selections (a pattern of thousands of runs
    takes a tenth of a second to select)."""

    def __init__(self, corpus: Corpus, found: dict[str, Classification], threshold: float) -> None:
        self.corpus = corpus
        self.found = found
        self.threshold = threshold
        self._known: dict[tuple[str, str], Selection] = {}

    def __call__(self, operation_type: str, scope: str) -> Selection:
        key = (operation_type, scope)
        if key not in self._known:
            self._known[key] = select(self.corpus, self.found, operation_type, scope, self.threshold)
        return self._known[key]


def scope_members(scope: str, corpus: Corpus, found: dict[str, Classification], threshold: float) -> set[str]:
    """Paths of the observations a scope from the command line selects.

    A label `runbook list` prints selects its whole pattern, so `list`'s counts are what `generate` mines.
    Other text selects whole groups, strongest evidence first: those most of whose members' label, context
    or title hold every word of it (`"queue backlog"`); else those most of whose runs' commands name it
    (`"search indexer"` for `systemctl restart search-indexer`, `"web app"` for `az webapp`); else those
    most of whose members are similar to it; else the members that are. Error journals that say every word
    of the text join whatever groups it selects (`_named_lesson`).
    """
    wanted = " ".join(scope.lower().split())
    members: dict[str, list[Observation]] = defaultdict(list)
    for observation in corpus.observations:
        members[found[observation.path].scope].append(observation)
    if not wanted:
        return {o.path for o in corpus.observations}
    if wanted in members:
        return {o.path for o in members[wanted]}
    chosen = _free_text_members(scope, wanted, members, corpus, found, threshold)
    return chosen | _lessons_naming(scope, corpus, found) if chosen else chosen


def _lessons_naming(scope: str, corpus: Corpus, found: dict[str, Classification]) -> set[str]:
    """The error journals `_named_lesson` gives to a free-text scope, wherever their words filed them."""
    return {o.path for o in corpus.observations if _named_lesson(scope, o, found[o.path])}


def _named_lesson(scope: str, observation: Observation, classification: Classification) -> bool:
    """An error journal filed under another label whose own words say every word of the free-text scope
    asked for ("orders queue backlog - autoscaling min capacity reverted to 1" is a lesson of the backlog
    incident, not a rollback's): one of this runbook's journals, whatever type its words gave it."""
    wanted = " ".join(scope.lower().split())
    return (
        bool(wanted)
        and observation.is_error_journal
        and classification.scope != wanted
        and names_every_word(scope, observation, classification)
    )


def _free_text_members(
    scope: str,
    wanted: str,
    members: dict[str, list[Observation]],
    corpus: Corpus,
    found: dict[str, Classification],
    threshold: float,
) -> set[str]:
    runs = {o.path for o in corpus.observations if o.is_execution}
    named = _most_match(members, lambda o: names_every_word(scope, o, found[o.path]))
    if named & runs:
        return named
    scores = {label: _commands_name(wanted, group) for label, group in members.items()}
    best = max(scores.values(), default=0)
    if best:
        return {o.path for label, group in members.items() if scores[label] == best for o in group}
    spread = _words_spread(wanted, members)
    if spread:
        return spread
    matching = {o.path for o in corpus.observations if scope_similarity(scope, o, found[o.path]) >= threshold}
    return _most_match(members, lambda o: o.path in matching) or matching or named


SPREAD_SHARE = 1 / 3
"""A group whose runs each say part of a scope ("queue at 40k", "orders backlog", `--queue-url`) is found by
it when every word of it is in at least this share of the runs' notes and commands."""


def _words_spread(wanted: str, members: dict[str, list[Observation]]) -> set[str]:
    """The groups with runs whose runs, between them, hold every word of the scope: each word in at least
    SPREAD_SHARE of the runs (notes or commands), the best-covered groups only; or, below that share, the
    one group whose runs hold every word at all ("backlog" in a quarter of the notes, "queue" in every
    command), when no other group does."""
    tokens = scope_words(wanted)
    if not tokens:
        return set()
    coverage: dict[str, float] = {}
    for label, group in members.items():
        runs = [o for o in group if o.is_execution]
        if not runs:
            continue
        counts: Counter[str] = Counter(word for o in runs for word in words_named(wanted, o))
        coverage[label] = min(counts[token] for token in tokens) / len(runs)
    best = max(coverage.values(), default=0.0)
    holding = [label for label, share in coverage.items() if share > 0]
    if best < SPREAD_SHARE and len(holding) != 1:
        return set()  # below the share, only the one group whose runs say every word at all is meant
    return {o.path for label, group in members.items() if coverage.get(label) == best for o in group}


def _most_match(members: dict[str, list[Observation]], test: Callable[[Observation], bool]) -> set[str]:
    """Paths of the groups most of whose members pass `test`."""
    return {o.path for group in members.values() if sum(map(test, group)) * 2 >= len(group) for o in group}


def _commands_name(wanted: str, group: Sequence[Observation]) -> int:
    """How well most of the group's runs' commands name the scope: 2 when they hold it as one word
    (`web app` as `az webapp`, `ingest worker` as `ingest-worker`), 1 when they hold each of its words
    somewhere (`--limit web … --tags app`), 0 otherwise."""
    tokens = [token for token in re.findall(r"[a-z0-9]+", wanted) if token not in _SCOPE_STOP]
    runs = [o for o in group if o.is_execution and o.commands]
    if not tokens or not runs:
        return 0
    joined = "".join(tokens)
    compound = scattered = 0
    for run in runs:
        text = " ".join(command.command.split("\n", 1)[0] for command in run.commands[:200]).lower()
        vocabulary = set(re.findall(r"[a-z0-9]+", text))
        compounds = {re.sub(r"[^a-z0-9]", "", word) for word in re.findall(r"[a-z0-9][a-z0-9_.-]*", text)}
        if len(tokens) > 1 and joined in compounds:
            compound += 1
        elif all(token in vocabulary for token in tokens):
            scattered += 1
    if compound * 2 >= len(runs):
        return 2
    return 1 if (compound + scattered) * 2 >= len(runs) else 0


_SCOPE_STOP = frozenset({"the", "a", "an", "of", "to", "for", "on", "in", "and", "with"})


def _adopted_types(
    corpus: Corpus, found: dict[str, Classification], chosen: set[str], operation_type: str
) -> frozenset[str]:
    """The types whose runs are taken as the type asked for: only when the chosen groups hold no run of that
    type at all (the user's word is then the best evidence there is), runs nothing types (`other`), and runs
    of a type nothing vouches for: no tag, no command verb naming it in half of the runs or more (an `az webapp
    restart` done in a third of the runs does not make a slot swap an incident), and at most half of their notes' words
    naming it ("released …", "hotfix …", "rolled … forward" over the same `aws s3 sync`)."""
    if operation_type == OperationType.OTHER.value:
        return frozenset()
    by_kind: dict[str, list[Observation]] = defaultdict(list)
    for observation in corpus.observations:
        if observation.is_execution and observation.path in chosen:
            by_kind[found[observation.path].operation_type].append(observation)
    if operation_type in by_kind:
        return frozenset()
    return frozenset(
        kind for kind, runs in by_kind.items() if kind == OperationType.OTHER.value or _unvouched(kind, runs, corpus)
    )


def _unvouched(kind: str, runs: Sequence[Observation], corpus: Corpus) -> bool:
    votes = [observation_facts(corpus, observation).votes for observation in runs]
    if any(kind in vote.tagged for vote in votes) or sum(kind in vote.commands for vote in votes) * 2 >= len(votes):
        return False
    said = sum(sum(vote.stated.values()) for vote in votes)
    return sum(vote.stated.get(kind, 0.0) for vote in votes) * 2 <= said


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
