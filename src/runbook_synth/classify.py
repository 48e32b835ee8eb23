"""Operation type and scope of each observation, from tags, file name, context line and commands.

Tags and the file name are what a person chose to say, so they weigh most; commands weigh least.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from runbook_synth.catalog import COMMAND_TYPE_WORDS
from runbook_synth.models import TYPE_ALIASES, Classification, Observation, OperationType, SourceKind
from runbook_synth.shell import launched, strip_wrappers, words

TYPE_KEYWORDS: dict[str, tuple[str, ...]] = {
    OperationType.ROLLBACK: (
        "rollback",
        "roll back",
        "rolled back",
        "rolling back",
        "revert",
        "reverted",
        "downgrade",
    ),
    OperationType.INCIDENT_RESPONSE: (
        "incident",
        "outage",
        "timeout",
        "timed out",
        "time out",
        "5xx",
        "504",
        "503",
        "502",
        "alarm",
        "on-call",
        "oncall",
        "pager",
        "degraded",
        "latency spike",
        "exhausted",
        "triage",
        "mitigate",
    ),
    OperationType.MIGRATION: (
        "migration",
        "migrate",
        "migrated",
        "schema change",
        "alembic",
        "flyway",
        "upgrade head",
    ),
    OperationType.SCALING: (
        "scaling",
        "scale up",
        "scale out",
        "scale down",
        "scaled",
        "read replica",
        "replica addition",
        "provisioned concurrency",
        "reserved concurrency",
        "capacity",
        "autoscaling",
        "add replica",
        "10x traffic",
        "aurora reader",
        "added reader",
        "add reader",
        "new reader",
        "create-db-instance",
        "put-provisioned-concurrency-config",
    ),
    OperationType.DEPLOYMENT: (
        "deploy",
        "deployment",
        "deployed",
        "release",
        "released",
        "ship",
        "publish",
        "rollout",
    ),
}
_TYPE_ORDER = (
    OperationType.ROLLBACK,
    OperationType.INCIDENT_RESPONSE,
    OperationType.MIGRATION,
    OperationType.SCALING,
    OperationType.DEPLOYMENT,
)
COMPONENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "lambda": ("lambda", "serverless function", "update-function-code", "function-updated"),
    "frontend": (
        "frontend",
        "front-end",
        "static site",
        "cloudfront",
        "s3 sync",
        "spa",
        "web app",
        "webapp",
        "ui",
    ),
    "database": (
        "database",
        "aurora",
        "rds",
        "postgres",
        "postgresql",
        "mysql",
        "dynamodb",
        "alembic",
        "schema",
        "psql",
    ),
    "infrastructure": ("infrastructure", "infra", "terraform", "cloudformation", "cdk", "vpc", "pulumi"),
    "kubernetes": ("kubernetes", "k8s", "kubectl", "helm", "eks", "pod", "deployment.apps"),
}
_GENERIC_TAGS = {
    "aws",
    "prod",
    "production",
    "staging",
    "dev",
    "local",
    "ops",
    "operations",
    "runbook",
    "manual",
    "cli",
    "success",
    "failure",
    "execution",
    "behavior",
    "note",
    "notes",
    "fix",
    "error",
    "retry",
}


def words_of(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9.]+", " ", text.lower()) + " "


def _has(haystack: str, keyword: str) -> bool:
    return f" {keyword} " in haystack or (len(keyword) > 5 and _compact(keyword) in _compact(haystack))


@functools.lru_cache(maxsize=256)
def _compact(text: str) -> str:
    """Without spaces (`read replica` is found in `readreplica`); a text is asked about many keywords."""
    return text.replace(" ", "")


def _stated_text(observation: Observation) -> str:
    """What the author said this is: tags, file name, title, context."""
    name = _file_slug(observation.path)
    return words_of(" ".join([*observation.tags, name, observation.title, observation.context]))


def _command_text(observation: Observation) -> str:
    commands = [strip_wrappers(run.command) for run in observation.commands[:200]]
    failed = observation.failure.failed_command if observation.failure else ""
    return words_of(" ".join([*commands, failed]))


def operation_type_of(observation: Observation) -> str:
    """The operation type: a tag naming it wins, then keywords in what was stated, then in the commands'
    words that are not flags or their values (`--force-new-deployment` deploys nothing)."""
    for tag in observation.tags:
        alias = TYPE_ALIASES.get(tag)
        if alias:
            return alias.value
    leading = _leading_type(observation)
    if leading:
        return leading
    stated = _Text(_stated_text(observation))
    for operation in _TYPE_ORDER:
        if stated.count(_TYPE_PROBES[operation]):
            return operation.value
    commands = _Text(words_of(" ".join(" ".join(verbs) for verbs in _command_verbs(observation))))
    scores = {op: commands.count(_TYPE_PROBES[op]) for op in _TYPE_ORDER}
    best = max(_TYPE_ORDER, key=lambda op: scores[op])
    if scores[best]:
        return best.value
    if observation.kind == SourceKind.FAILURE:
        return OperationType.INCIDENT_RESPONSE.value
    return OperationType.OTHER.value


LEADING_VERBS: dict[str, OperationType] = {
    "deploy": OperationType.DEPLOYMENT,
    "deployed": OperationType.DEPLOYMENT,
    "deploying": OperationType.DEPLOYMENT,
    "release": OperationType.DEPLOYMENT,
    "released": OperationType.DEPLOYMENT,
    "shipped": OperationType.DEPLOYMENT,
    "rollback": OperationType.ROLLBACK,
    "rolled": OperationType.ROLLBACK,
    "reverted": OperationType.ROLLBACK,
    "migrate": OperationType.MIGRATION,
    "migrated": OperationType.MIGRATION,
    "scaled": OperationType.SCALING,
}
"""A context or title that opens with one of these says what was done, whatever words follow it:
"deployed report_worker with a longer timeout" is a deployment, not an incident."""


_ROLLED_FORWARD = re.compile(r"^roll(?:ed|ing)?\b(?:\W+\w+){0,4}?\W+forward\b")
"""`rolled the docs site forward`: a roll forward is a deployment, not a rollback."""


def _leading_type(observation: Observation) -> str:
    for text in (observation.context, observation.title):
        lowered = text.lower().strip()
        first = re.findall(r"[a-z]+", lowered)[:1]
        if first and first[0] in LEADING_VERBS:
            if _ROLLED_FORWARD.match(lowered):
                return OperationType.DEPLOYMENT.value
            return LEADING_VERBS[first[0]].value
    return ""


TAG_WEIGHT = 3.0
"""A tag naming the type is what a person chose to say: it outweighs any number of words and commands."""
COMMAND_WEIGHT = 0.75
"""What a run's commands say it was (`helm rollback`, `kubectl scale`), against 1.0 for what its note says:
words that agree across a group's runs win, words that disagree run by run lose to the commands."""
_BARE_WORD = re.compile(r"^[a-z][a-z0-9:_.-]*$")


def operation_votes(observation: Observation) -> OperationVotes:
    """One run's evidence for each operation type, summed over a group's runs to name the group.

    A tag decides (TAG_WEIGHT). Otherwise the note's words give one vote: all of it to the type a context
    or title opens with ("deployed ... with a longer timeout"), else shared by every type whose phrase the
    words contain, whole phrases only. The commands add COMMAND_WEIGHT, shared by the types their verbs name.
    """
    for tag in observation.tags:
        alias = TYPE_ALIASES.get(tag)
        if alias:
            return OperationVotes(tagged={alias.value: TAG_WEIGHT})
    stated: dict[str, float] = {}
    leading = _leading_type(observation)
    if leading:
        stated[leading] = 1.0
    else:
        text = _Text(_stated_text(observation))
        named = [op.value for op in _TYPE_ORDER if text.count(_TYPE_PROBES[op])]
        for name in named:
            stated[name] = stated.get(name, 0.0) + 1.0 / len(named)
    signalled = command_types(observation)
    return OperationVotes(stated=stated, commands={name: COMMAND_WEIGHT / len(signalled) for name in signalled})


@dataclass(frozen=True)
class OperationVotes:
    """One run's evidence for its operation type, by where it comes from."""

    tagged: dict[str, float] = field(default_factory=dict)
    stated: dict[str, float] = field(default_factory=dict)
    commands: dict[str, float] = field(default_factory=dict)


def group_operation_type(votes: Iterable[OperationVotes]) -> str:
    """A group's type from its runs' evidence; "" when nothing names one.

    Tags count as given. The notes' words count by how much the runs agree: each type's word votes are
    weighed by that type's share of all word votes, so words that agree run after run keep their full
    weight and words that name a different type in every run ("deployed …", "scaled …", "migrated …" over
    the same `flyway migrate`) lose to what the commands did.
    """
    tagged: dict[str, float] = {}
    stated: dict[str, float] = {}
    commands: dict[str, float] = {}
    for vote in votes:
        for target, source in ((tagged, vote.tagged), (stated, vote.stated), (commands, vote.commands)):
            for name, weight in source.items():
                target[name] = target.get(name, 0.0) + weight
    said = sum(stated.values())
    total = dict(tagged)
    for name, weight in stated.items():
        total[name] = total.get(name, 0.0) + weight * weight / said
    for name, weight in commands.items():
        total[name] = total.get(name, 0.0) + weight
    if not total:
        return ""
    return max(sorted(total), key=lambda name: total[name])


def command_types(observation: Observation) -> tuple[str, ...]:
    """Operation types the run's command verbs name (`flyway -configFiles=x migrate` → migration).

    Verbs are the bare words of a command that are not a flag's value (`--function-name deploy-bot` names
    nothing), split at `-`, `:` and `.` (`heroku container:release`).
    """
    found: set[str] = set()
    for verbs in _command_verbs(observation):
        for token in verbs:
            for part in re.split(r"[-:_.]", token):
                kind = COMMAND_TYPE_WORDS.get(part)
                if kind:
                    found.add(kind)
    return tuple(sorted(found))


def _command_verbs(observation: Observation) -> Iterator[list[str]]:
    """Each command's bare words that are not a flag or a flag's value (`aws ecs update-service` of
    `aws ecs update-service --service w --force-new-deployment`; paths such as `deploy/shop` are no word)."""
    for run in observation.commands[:200]:
        kept: list[str] = []
        after_flag = False
        for token in words(strip_wrappers(run.command.split("\n", 1)[0]))[:24]:
            if token.startswith("-"):
                after_flag = "=" not in token and token != "--"
                continue
            if after_flag or not _BARE_WORD.match(token):
                after_flag = False
                continue
            kept.append(token)
        yield kept


def component_scores(observation: Observation) -> dict[str, float]:
    stated = _Text(_stated_text(observation))
    commands = _Text(_command_text(observation))
    scores: dict[str, float] = {}
    for component, probes in _COMPONENT_PROBES.items():
        score = 3.0 * stated.count(probes) + 0.5 * min(commands.count(probes), 4)
        if score:
            scores[component] = score
    return scores


_Probes = tuple[tuple[str, bool], ...]


def _probes(keywords: Iterable[str]) -> _Probes:
    """`_has` for many keywords at once: a long keyword is looked for without spaces (found with its spaces,
    it is found without them too), a short one as a whole word."""
    return tuple(
        (keyword.replace(" ", ""), True) if len(keyword) > 5 else (f" {keyword} ", False) for keyword in keywords
    )


_COMPONENT_PROBES = {component: _probes(keywords) for component, keywords in COMPONENT_KEYWORDS.items()}
_TYPE_PROBES = {operation: _probes(keywords) for operation, keywords in TYPE_KEYWORDS.items()}


class _Text:
    """A `words_of` text and its spaceless form, made once for every keyword asked about."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.squeezed = text.replace(" ", "")

    def count(self, probes: _Probes) -> int:
        """How many of the keywords `_has` finds in the text."""
        text, squeezed = self.text, self.squeezed
        return sum(1 for needle, compact in probes if needle in (squeezed if compact else text))


def component_of(observation: Observation) -> str:
    scores = component_scores(observation)
    if not scores:
        return ""
    return max(sorted(scores), key=lambda name: scores[name])


def _stated_component(observation: Observation) -> str:
    """The component the note's own words name (a command that touches the database does not make an
    incident a database incident)."""
    scores = component_scores(observation)
    stated = [name for name in sorted(scores) if scores[name] >= 3.0]
    return max(stated, key=lambda name: scores[name]) if stated else ""


def symptom_label(observation: Observation) -> str:
    """A short free-text scope for observations that name a symptom rather than a component."""
    incident = TYPE_KEYWORDS[OperationType.INCIDENT_RESPONSE]
    for tag in observation.tags:
        if tag in _GENERIC_TAGS or tag in TYPE_ALIASES or tag in COMPONENT_KEYWORDS:
            continue
        said = words_of(tag)
        named = [keyword for keyword in incident if _has(said, keyword)]
        if named and _beyond(said, named):
            return tag.replace("-", " ").replace("_", " ")
    name = _file_slug(observation.path)
    if any(_has(words_of(name), keyword) for keyword in incident):
        kept = [word for word in re.findall(r"[a-z0-9]+", name) if word not in _STOP and word not in _NOTE_WORDS]
        return " ".join(kept[:4])
    return ""


def _beyond(said: str, keywords: Sequence[str]) -> bool:
    """Whether a tag says more than the incident words in it: `db-timeout` names a symptom, `oncall` or
    `incident` only how the work came in."""
    rest = _compact(said)
    for keyword in sorted(keywords, key=len, reverse=True):
        rest = rest.replace(_compact(words_of(keyword)), "")
    return bool(rest)


_NOTE_WORDS = {"notes", "note", "md", "incident", "response", "prod", "staging"}


def _file_slug(path: str) -> str:
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    name = re.sub(r"^(?:execution|failure|behavior)-\d{4,6}-", "", name)
    return re.sub(r"^\d{4}-\d{2}-\d{2}-?", "", name)


def classify(observation: Observation) -> Classification:
    """Type and primary scope; incidents are scoped by their symptom when they name one."""
    operation = operation_type_of(observation)
    scope = ""
    if operation == OperationType.INCIDENT_RESPONSE.value:
        scope = symptom_label(observation) or _stated_component(observation)
        if not scope and (observation.context or observation.title):
            scope = _fallback_scope(observation)
    scope = scope or component_of(observation) or _fallback_scope(observation)
    return Classification(operation, scope)


def _fallback_scope(observation: Observation) -> str:
    text = observation.context or observation.title
    tokens = [word for word in re.findall(r"[a-z0-9]+", text.lower()) if word not in _STOP and not word.isdigit()][:4]
    return " ".join(tokens) or "general"


_STOP = {
    "the",
    "a",
    "an",
    "of",
    "to",
    "for",
    "on",
    "in",
    "and",
    "with",
    "after",
    "before",
    "from",
    "by",
    "at",
    "deployed",
    "deploy",
    "deployment",
    "rollback",
    "migration",
    "scaling",
    "incident",
    "response",
}


def scope_similarity(scope: str, observation: Observation, classification: Classification) -> float:
    """How well an observation matches a scope from the command line, 0..1 (similarity, not equality)."""
    wanted = scope.strip().lower()
    if not wanted:
        return 1.0
    if wanted in COMPONENT_KEYWORDS or wanted == classification.scope:
        if classification.scope == wanted:
            return 1.0
        scores = component_scores(observation)
        return 0.8 if scores.get(wanted, 0) >= 3 else 0.0
    stated = _stated_text(observation).strip()
    candidates: Iterable[str] = (
        classification.scope,
        stated,
        observation.context.lower(),
        observation.title.lower(),
    )
    best = 0.0
    for candidate in candidates:
        if not candidate:
            continue
        best = max(best, fuzz.token_set_ratio(wanted, candidate) / 100.0, _keyword_overlap(wanted, candidate))
    return best


def names_every_word(scope: str, observation: Observation, classification: Classification) -> bool:
    """Whether the observation's label, or what its author said (tags, file name, title, context), holds
    every word of a free-text scope (a component's synonyms count: `db` for `database`)."""
    candidates = (classification.scope, _stated_text(observation))
    return any(_keyword_overlap(scope.lower(), candidate) >= 1.0 for candidate in candidates if candidate)


def scope_words(scope: str) -> frozenset[str]:
    """The words of a free-text scope that say something (not `the`, `for`, ...)."""
    return frozenset(token for token in re.findall(r"[a-z0-9]+", scope.lower()) if token not in _STOP)


def words_named(scope: str, observation: Observation) -> frozenset[str]:
    """The words of a free-text scope (or a component synonym of each) that the observation's notes or
    commands hold, whole words only (`queue` in `--queue-url`, not in `queues`)."""
    return _tokens_in(scope_words(scope), words_of(_stated_text(observation) + " " + _command_text(observation)))


def _keyword_overlap(wanted: str, candidate: str) -> float:
    """Share of the scope's words (and their component synonyms) found in the candidate."""
    tokens = [token for token in re.findall(r"[a-z0-9]+", wanted) if token not in _STOP]
    if not tokens:
        return 0.0
    found = _tokens_in(tokens, words_of(candidate))
    return sum(token in found for token in tokens) / len(tokens)


def _tokens_in(tokens: Iterable[str], haystack: str) -> frozenset[str]:
    """The tokens the haystack holds, itself or as one of its component's synonyms (`db` for `database`)."""
    found: set[str] = set()
    for token in tokens:
        synonyms = next((keywords for keywords in COMPONENT_KEYWORDS.values() if token in keywords), (token,))
        if any(_has(haystack, synonym) for synonym in synonyms):
            found.add(token)
    return frozenset(found)


VERB = re.compile(r"^[a-z][a-z0-9-]*$")
"""A sub-command word (`update-service`), not a value or a flag."""


def command_vocabulary(observation: Observation) -> frozenset[str]:
    """What a run did, as the set of its command verbs (`aws ecs update-service`, `docker push`, `curl`):
    the program and the sub-commands after it, never the values, so staging and prod runs look alike. A
    command started through a launcher (`dotenv -e .env.production -- gcloud run deploy …`, `sops exec-env f
    'flyway migrate'`) counts as what it launches too, so runs that started it differently look alike."""
    verbs: set[str] = set()
    for run in observation.commands[:500]:
        line = run.command.split("\n", 1)[0]
        verbs.update(found for found in (_verbs(line), _verbs(launched(run.command), inner=True)) if found)
    return frozenset(verbs)


def _verbs(command: str, inner: bool = False) -> str:
    """`aws ecs update-service` of `aws ecs update-service --cluster x`: the program and up to two
    sub-commands; "" when there is no command, or (`inner`, what a launcher seemed to run) when its first
    word is not a program's name (`git checkout -- notes.txt` launches nothing)."""
    tokens = words(strip_wrappers(command))
    if not tokens:
        return ""
    program = tokens[0].rsplit("/", 1)[-1]
    if inner and not VERB.match(program) and "/" not in tokens[0]:
        return ""
    found = [program]
    for token in tokens[1:]:
        if len(found) == 3 or not VERB.match(token):
            break
        found.append(token)
    return " ".join(found)


@dataclass(frozen=True)
class ObservationFacts:
    """What classification reads of one observation, a function of that observation alone: its own type and
    scope (`classify`), its command verbs (`command_vocabulary`) and its evidence for a type
    (`operation_votes`). Computed where the file is parsed and kept with its parse, so a run over thousands
    of unchanged notes does not work them out again."""

    classification: Classification
    verbs: frozenset[str]
    votes: OperationVotes


def facts_of(observation: Observation) -> ObservationFacts:
    return ObservationFacts(classify(observation), command_vocabulary(observation), operation_votes(observation))
