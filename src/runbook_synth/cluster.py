"""Group observations into patterns (operation type × scope) and failures by their templated error.

Free-text scopes ("API timeout", "api timeouts on /reports") are merged with TF-IDF character n-grams
and agglomerative clustering (deterministic); errors are grouped with rapidfuzz.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from runbook_synth.classify import COMPONENT_KEYWORDS, classify, scope_similarity
from runbook_synth.models import Classification, Corpus, Observation, Pattern, SourceKind

EXECUTION_KINDS = (SourceKind.EXECUTION, SourceKind.NOTE, SourceKind.CLOUDWATCH, SourceKind.GITHUB_ACTIONS)


@dataclass(frozen=True)
class Selection:
    """The observations a runbook for (type, scope) is mined from."""

    operation_type: str
    scope: str
    executions: tuple[Observation, ...]
    failures: tuple[Observation, ...]
    journals: tuple[Observation, ...]
    other_types: tuple[tuple[str, int], ...] = ()
    """Counts of matching executions of other types, to tell the user what was found instead."""
    related_failures: tuple[Observation, ...] = ()
    """Failures and error journals of the same scope but another type: used only where they touch a step."""


def is_execution(observation: Observation) -> bool:
    return observation.kind in EXECUTION_KINDS and len(observation.commands) > 0


def classifications(corpus: Corpus) -> dict[str, Classification]:
    found = {observation.path: classify(observation) for observation in corpus.observations}
    merged = merge_free_text_scopes(
        [c.scope for c in found.values() if c.scope not in COMPONENT_KEYWORDS and c.scope != "general"]
    )
    return {path: Classification(c.operation_type, merged.get(c.scope, c.scope)) for path, c in found.items()}


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
    """Executions, failures and journals for (type, scope); scope matched by similarity.

    `found` is `classifications(corpus)`, computed once per corpus by the caller.
    """
    executions: list[Observation] = []
    failures: list[Observation] = []
    journals: list[Observation] = []
    related: list[Observation] = []
    others: Counter[str] = Counter()
    for observation in corpus.observations:
        classification = found[observation.path]
        similarity = scope_similarity(scope, observation, classification)
        if similarity < threshold:
            continue
        same_type = classification.operation_type == operation_type
        if observation.kind == SourceKind.JOURNAL:
            if same_type:
                journals.append(observation)
            elif observation.category == "error":
                related.append(observation)
            continue
        if not same_type:
            if is_execution(observation):
                others[classification.operation_type] += 1
            if observation.kind == SourceKind.FAILURE:
                related.append(observation)
            continue
        if observation.kind == SourceKind.FAILURE:
            failures.append(observation)
        elif is_execution(observation):
            executions.append(observation)
    return Selection(
        operation_type,
        scope,
        tuple(executions),
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
        elif is_execution(observation):
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
