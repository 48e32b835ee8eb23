"""Many runs' command sequences → ordered consensus columns: a progressive multiple sequence alignment.

Each run is cleaned first (noise and typos out, failed-then-retried commands lifted out as retry episodes),
commands get key ids (same step = same masked command), runs are aligned one by one to a growing profile by
longest common subsequence, and columns of the same command that never share a run (independent steps done
in another order) are merged, and so are columns of one command with another value at the same place (one
step with a parameter). A command seen twice in the same runs (check before and after) stays two columns.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

from runbook_synth.models import Alignment, Column, CommandRun, Member, PreparedRun, RetryEpisode, Selection
from runbook_synth.normalize import command_key, misspelled
from runbook_synth.shell import is_noise, is_orientation, launched

_MERGE_DISTANCE = 4


class KeyIndex:
    """Gives similar command keys one id: exact masked keys first, then fuzzy within the same program."""

    def __init__(self, threshold: float = 90.0, aliases: dict[str, str] | None = None) -> None:
        self.threshold = threshold
        self.keys: list[str] = []
        self._exact: dict[str, int] = {}
        self._by_head: dict[tuple[str, ...], list[int]] = {}
        """Ids of the known keys by skeleton: only keys of the same skeleton are compared, in id order."""
        self._aliases = aliases or {}
        """Command text → the key it is aligned by, when that is not its own (`launcher_aliases`)."""

    @classmethod
    def of(cls, alignment: Alignment) -> KeyIndex:
        """The index an alignment was made with: the same commands get the same ids again."""
        index = cls()
        for key in alignment.keys:
            index._add(key)
        return index

    def _add(self, key: str) -> int:
        self.keys.append(key)
        number = len(self.keys) - 1
        self._exact.setdefault(key, number)
        self._by_head.setdefault(tuple(skeleton(key)), []).append(number)
        return number

    def key_of(self, command: str) -> str:
        """The masked key a command is aligned by (its launcher alias, else `command_key`)."""
        return self._aliases.get(command) or command_key(command)

    def id_of(self, command: str) -> int:
        key = self.key_of(command)
        if key in self._exact:
            return self._exact[key]
        for index in self._by_head.get(tuple(skeleton(key)), ()):
            if fuzz.ratio(key, self.keys[index]) >= self.threshold:
                self._exact[key] = index
                return index
        return self._add(key)


def skeleton(key: str, size: int = 3) -> list[str]:
    """The first words of a command that are neither flags nor values: `terraform plan`, `npm run build`.

    Commands with different skeletons are never the same step, however similar the rest.
    """
    found: list[str] = []
    for word in key.split():
        if word.startswith("-") or "<" in word or "=" in word:
            continue
        found.append(word)
        if len(found) == size:
            break
    return found


def prepare_run(run: int, commands: Sequence[CommandRun], keys: KeyIndex) -> PreparedRun:
    """Lift out noise, retry episodes (fail → fixes → same command succeeds) and unretried failures.

    A failed command that is a misspelling of the command run right after it, or of the step that later
    succeeds (`--replica=8`, then `--replicas=8`), failed in the typing, not in the procedure: it is noise,
    not an episode, and what ran in between stays in the procedure instead of becoming a fix.
    """
    kept: list[CommandRun] = []
    noise: list[CommandRun] = []
    for command in commands:
        (noise if is_noise(command.command) else kept).append(command)
    episodes: list[RetryEpisode] = []
    unretried: list[CommandRun] = []
    result: list[CommandRun] = []
    index = 0
    while index < len(kept):
        command = kept[index]
        if not _failed(command):
            result.append(command)
            index += 1
            continue
        key, key_id = keys.key_of(command.command), keys.id_of(command.command)
        retry_at = next(
            (
                later
                for later in range(index + 1, len(kept))
                if not _failed(kept[later]) and keys.id_of(kept[later].command) == key_id
            ),
            None,
        )
        following = kept[index + 1] if index + 1 < len(kept) else None
        retyped = following is not None and not _failed(following) and misspelled(key, keys.key_of(following.command))
        if retyped or (retry_at is not None and misspelled(key, keys.key_of(kept[retry_at].command))):
            noise.append(command)
            index += 1
            continue
        if retry_at is None:
            unretried.append(command)
            index += 1
            continue
        fixes = tuple(fix for fix in kept[index + 1 : retry_at] if keys.id_of(fix.command) != key_id)
        episodes.append(RetryEpisode(run, command, fixes, kept[retry_at]))
        index = retry_at
    return PreparedRun(run, tuple(result), tuple(episodes), tuple(unretried), tuple(noise))


def _failed(command: CommandRun) -> bool:
    return command.failed or _reads_as_failed(command)


def _reads_as_failed(command: CommandRun) -> bool:
    """No exit code was recorded (a hand-written note), but the output opens with an error."""
    if command.exit_code is not None or not command.output.strip():
        return False
    first = command.output.strip().split("\n", 1)[0][:300]
    return bool(_ERROR_OPENING.search(first))


_ERROR_OPENING = re.compile(
    r"^(?:error|fatal|denied|exception|traceback|usage:|aws: error|an error occurred|.*\bFATAL ERROR\b|"
    r"E\d{4}|npm err!|[\w./-]{1,40}:\s+(?:error|fatal)\b|(?-i:[\w.]{0,80}[a-z](?:Error|Exception)):\s|"
    r".*(?:failed|timed out|permission denied|not found|connection refused|unauthorized|invalid choice|"
    r"unknown command|no such file or directory)\b)",
    re.IGNORECASE,
)


def _lcs_length(first: Sequence[int], second: Sequence[int]) -> int:
    """Length of a longest common subsequence (rapidfuzz's bit-parallel C++: the same number, fast)."""
    return int(LCSseq.similarity(first, second))


def _lcs_pairs(profile: Sequence[int], sequence: Sequence[int]) -> list[tuple[int, int]]:
    """Matched (profile index, sequence index) pairs of a longest common subsequence; ties keep early.

    A common prefix and suffix are matched directly and only the middle goes through the quadratic table,
    so runs that mostly agree align in near-linear time.
    """
    start = 0
    while start < len(profile) and start < len(sequence) and profile[start] == sequence[start]:
        start += 1
    end = 0
    while end < len(profile) - start and end < len(sequence) - start and profile[-1 - end] == sequence[-1 - end]:
        end += 1
    middle = _lcs_table_pairs(profile[start : len(profile) - end], sequence[start : len(sequence) - end])
    head = [(index, index) for index in range(start)]
    tail = [(len(profile) - end + k, len(sequence) - end + k) for k in range(end)]
    return head + [(i + start, j + start) for i, j in middle] + tail


def _lcs_table_pairs(profile: Sequence[int], sequence: Sequence[int]) -> list[tuple[int, int]]:
    rows, cols = len(profile), len(sequence)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(cols - 1, -1, -1):
            row[j] = below[j + 1] + 1 if profile[i] == sequence[j] else max(below[j], row[j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < rows and j < cols:
        if profile[i] == sequence[j]:
            pairs.append((i, j))
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _add_run(
    profile: list[list[Member]],
    profile_ids: list[int],
    run: int,
    ids: list[int],
    commands: Sequence[CommandRun],
) -> None:
    pairs = _lcs_pairs(profile_ids, ids)
    new_profile: list[list[Member]] = []
    new_ids: list[int] = []
    previous_i, previous_j = 0, 0
    for i, j in [*pairs, (len(profile), len(ids))]:
        for k in range(previous_i, i):
            new_profile.append(profile[k])
            new_ids.append(profile_ids[k])
        for k in range(previous_j, j):
            new_profile.append([Member(run, k, commands[k])])
            new_ids.append(ids[k])
        if i < len(profile):
            new_profile.append([*profile[i], Member(run, j, commands[j])])
            new_ids.append(profile_ids[i])
        previous_i, previous_j = i + 1, j + 1
    profile[:] = new_profile
    profile_ids[:] = new_ids


def _seed_order(sequences: list[list[int]]) -> list[int]:
    """Start from the run most like the others (the medoid), then add runs by likeness to it."""
    count = len(sequences)
    sample = list(range(min(count, 40)))
    best, best_score = 0, -1
    for candidate in sample:
        score = sum(_lcs_length(sequences[candidate], sequences[other]) for other in sample if other != candidate)
        if score > best_score:
            best, best_score = candidate, score
    rest = [index for index in range(count) if index != best]
    seed = sequences[best]
    rest.sort(key=lambda index: (-_lcs_length(seed, sequences[index]), index))
    return [best, *rest]


def roaming_keys(
    sequences: Sequence[Sequence[int]],
    min_runs: int = 3,
    spread: float = 0.12,
    common: float = 0.8,
    stopped: Sequence[bool] = (),
) -> set[int]:
    """Commands typed at random points (`aws sts get-caller-identity` now here, now there): noise.

    A step sits at about the same relative place in every run that has it. A command that is not in
    most runs (below `common`), occurs once per run, and wanders (standard deviation of its relative
    position above `spread`) is not a step. Commands in most runs are never noise: a reordered step
    wanders too. A run that stopped at a failure (`stopped`) says where its commands are, not where a
    complete run has them: its last command sits at 100 % however early it came, so its places count only
    when too few complete runs have the command.
    """
    places: dict[int, list[float]] = {}
    partial: dict[int, list[float]] = {}
    repeated: set[int] = set()
    for index, sequence in enumerate(sequences):
        counts = Counter(sequence)
        last = max(len(sequence) - 1, 1)
        into = partial if index < len(stopped) and stopped[index] else places
        for position, key_id in enumerate(sequence):
            if counts[key_id] > 1:
                repeated.add(key_id)
            into.setdefault(key_id, []).append(position / last)
    for key_id, values in partial.items():
        if len(places.get(key_id, ())) < min_runs:
            places.setdefault(key_id, []).extend(values)
    roaming: set[int] = set()
    known = _usual(sequences, common)
    before, after = _anchors(sequences, known)
    for key_id, values in places.items():
        present = len(values) + (len(partial.get(key_id, ())) if len(values) >= min_runs else 0)
        if key_id in repeated or len(values) < min_runs or present >= common * len(sequences):
            continue
        if statistics.pstdev(values) > spread and not _anchored(before[key_id], after[key_id]):
            roaming.add(key_id)
    return roaming | _unanchored_pairs(len(sequences), known, (before, after), min_runs, repeated)


def _anchored(before: Sequence[int], after: Sequence[int]) -> bool:
    """At least half the runs that have a command have it between the same two usual commands: a step
    (reordered with a neighbour in the others), however much stray commands move its relative place."""
    pairs = Counter(zip(before, after, strict=True))
    return max(pairs.values(), default=0) * 2 >= len(before)


def _usual(sequences: Sequence[Sequence[int]], common: float) -> tuple[Counter[int], set[int]]:
    """How many runs have each command, and the commands at least `common` of the runs have."""
    presence: Counter[int] = Counter()
    for sequence in sequences:
        presence.update(set(sequence))
    return presence, {key_id for key_id, count in presence.items() if count >= common * len(sequences)}


def _anchors(
    sequences: Sequence[Sequence[int]], known: tuple[Counter[int], set[int]]
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """For each command not in most runs, the nearest command most runs have before it and after it, in each
    run that has it (-1 and -2 for the start and the end).

    A step, optional or not, sits between the same steps whenever it is done, however many stray commands
    make its relative place move (`ansible … lb -m service -a 'state=reloaded'` always after the status
    check and before the health check); a command typed while looking around lands anywhere.
    """
    _, usual = known
    before: dict[int, list[int]] = defaultdict(list)
    after: dict[int, list[int]] = defaultdict(list)
    for sequence in sequences:
        previous = -1
        anchors: list[int] = []
        for key_id in sequence:
            anchors.append(previous)
            if key_id in usual:
                previous = key_id
        following = -2
        for position in range(len(sequence) - 1, -1, -1):
            key_id = sequence[position]
            if key_id not in usual:
                before[key_id].append(anchors[position])
                after[key_id].append(following)
            else:
                following = key_id
    return before, after


def _unanchored_pairs(
    runs: int,
    known: tuple[Counter[int], set[int]],
    anchors: tuple[dict[int, list[int]], dict[int, list[int]]],
    min_runs: int,
    repeated: set[int],
) -> set[int]:
    """Commands seen in too few runs for a spread (two, when `min_runs` is 3, and at most a fifth of the
    runs) that share no neighbour.

    A step, optional or not, sits between the same steps whenever it is done: its nearest common command
    before it, or after it, is the same in the runs that have it. A command typed while looking around
    lands anywhere; when both its neighbours differ in every run that has it, it is not a step.
    """
    presence, usual = known
    rare = {
        key_id
        for key_id, count in presence.items()
        if 2 <= count < min_runs and count * 5 <= runs and key_id not in repeated and key_id not in usual
    }
    every_before, every_after = anchors
    before = {key_id: every_before[key_id] for key_id in rare}
    after = {key_id: every_after[key_id] for key_id in rare}
    return {
        key_id
        for key_id, anchors in before.items()
        if len(set(anchors)) == len(anchors) and len(set(after[key_id])) == len(after[key_id])
    }


def _rare_orientation(runs: Sequence[PreparedRun], sequences: Sequence[Sequence[int]], common: float = 0.8) -> set[int]:
    """Orientation commands (`aws sts get-caller-identity`) that most runs did without: looking around."""
    present: Counter[int] = Counter()
    orientation: set[int] = set()
    for run, sequence in zip(runs, sequences, strict=True):
        present.update(set(sequence))
        orientation.update(k for c, k in zip(run.commands, sequence, strict=True) if is_orientation(c.command))
    return {key_id for key_id in orientation if present[key_id] < common * len(sequences)}


def align_selection(selection: Selection) -> Alignment:
    """The selection's executions in source order, cleaned and aligned: what every later stage reads."""
    executions = tuple(sorted(selection.executions, key=lambda obs: obs.sort_key))
    keys = KeyIndex(aliases=launcher_aliases([observation.commands for observation in executions]))
    runs = [prepare_run(index, observation.commands, keys) for index, observation in enumerate(executions)]
    aligned = align_sequences([run for run in runs if run.commands], keys)
    return Alignment(aligned.columns, aligned.run_count, tuple(keys.keys), tuple(runs), executions)


def launcher_aliases(runs: Sequence[Sequence[CommandRun]]) -> dict[str, str]:
    """Commands run through a launcher that injects secrets or an environment, mapped to the bare command
    written elsewhere in the same runs, so one step is not split in two by how it was started. The command
    is shown as most runs wrote it; only its key follows the bare command.

    No list of launchers: the runs are the evidence. `X … -- terraform apply` aliases `terraform apply`
    only when that (the same key) was also run bare, at least as often as wrapped; a wrapper every run used
    is left as written, and so is `kubectl exec pod -- sh` when nobody ran `sh` on its own.
    """
    bare: Counter[str] = Counter()
    wrapped: Counter[str] = Counter()
    inner: dict[str, str] = {}
    for run in runs:
        for command in run:
            key = command_key(command.command)
            bare[key] += 1
            text = launched(command.command)
            if text and command_key(text) != key:
                inner[command.command] = command_key(text)
                wrapped[command_key(text)] += 1
    return {command: key for command, key in inner.items() if bare[key] >= wrapped[key]}


def align_sequences(runs: Sequence[PreparedRun], keys: KeyIndex) -> Alignment:
    """The progressive alignment of all runs, with reordered columns merged."""
    sequences = [[keys.id_of(command.command) for command in run.commands] for run in runs]
    stopped = [bool(run.unretried_failures) for run in runs]
    roaming = roaming_keys(sequences, stopped=stopped) | _rare_orientation(runs, sequences)
    if roaming:
        runs = [
            PreparedRun(
                run.run,
                tuple(c for c, k in zip(run.commands, sequence, strict=True) if k not in roaming),
                run.episodes,
                run.unretried_failures,
                run.noise + tuple(c for c, k in zip(run.commands, sequence, strict=True) if k in roaming),
            )
            for run, sequence in zip(runs, sequences, strict=True)
        ]
        sequences = [[key_id for key_id in sequence if key_id not in roaming] for sequence in sequences]
    profile: list[list[Member]] = []
    profile_ids: list[int] = []
    if runs:
        for index in _seed_order(sequences):
            _add_run(profile, profile_ids, runs[index].run, sequences[index], runs[index].commands)
    columns = [Column(key_id, tuple(members)) for key_id, members in zip(profile_ids, profile, strict=True)]
    landmark_runs = max(2, len(runs) // 5)
    columns = _merge_variants(_merge_reordered(columns, landmark_runs), keys.keys, landmark_runs)
    return Alignment(tuple(columns), len(runs), tuple(keys.keys))


def _merge_reordered(columns: list[Column], landmark_runs: int) -> list[Column]:
    """Merge columns of one command that never share a run and stand close: the same step, reordered.

    Closeness counts only landmark columns (seen in at least `landmark_runs` runs) in between, so rare
    commands typed between steps do not keep the two halves of a reordered step apart. The first such pair
    (by the left column, then the right) is merged, and the search starts again, until none is left.
    """
    while True:
        pair = _first_mergeable(columns, landmark_runs)
        if pair is None:
            return columns
        i, j = pair
        a, b = columns[i], columns[j]
        keep, drop = (i, j) if len(a.members) >= len(b.members) else (j, i)
        columns[keep] = Column(a.key_id, tuple(sorted(a.members + b.members, key=lambda m: (m.run, m.position))))
        del columns[drop]


def _first_mergeable(columns: Sequence[Column], landmark_runs: int) -> tuple[int, int] | None:
    """The first (i, j), i < j, of one command with no run in common and at most _MERGE_DISTANCE landmark
    columns strictly between them; only columns of the same command are compared (a note of 100,000
    commands has 100,000 columns), and a column every run has cannot merge with anything."""
    every = frozenset(run for column in columns for run in column.runs)
    landmarks_before = [0]
    later: dict[int, list[int]] = defaultdict(list)
    for index, column in enumerate(columns):
        landmarks_before.append(landmarks_before[-1] + (len(column.runs) >= landmark_runs))
        later[column.key_id].append(index)
    for i, a in enumerate(columns):
        if a.runs == every:
            continue
        same = later[a.key_id]
        for j in same[bisect.bisect_right(same, i) :]:
            if landmarks_before[j] - landmarks_before[i + 1] > _MERGE_DISTANCE:
                break
            if not a.runs & columns[j].runs:
                return i, j
    return None


def _merge_variants(columns: list[Column], keys: Sequence[str], landmark_runs: int) -> list[Column]:
    """Merge columns of one command written with another value that never share a run and stand at the same
    place (no landmark column between them): one step with a parameter, not a step per value.

    `fly scale vm shared-cpu-2x` and `fly scale vm performance-2x` get two key ids (one word is a large
    share of a short command), so the alignment gives each its own column, each in some of the runs.
    """
    while True:
        pair = _first_variant_pair(columns, keys, landmark_runs)
        if pair is None:
            return columns
        i, j = pair
        a, b = columns[i], columns[j]
        keep, drop = (i, j) if len(a.members) >= len(b.members) else (j, i)
        members = tuple(sorted(a.members + b.members, key=lambda m: (m.run, m.position)))
        columns[keep] = Column(columns[keep].key_id, members)
        del columns[drop]


def _first_variant_pair(columns: Sequence[Column], keys: Sequence[str], landmark_runs: int) -> tuple[int, int] | None:
    """The first (i, j), i < j, of columns one value apart, with no run in common and no landmark column
    strictly between them. Only columns with the same command words and word count are compared, and a
    column every run has cannot merge with anything."""
    every = frozenset(run for column in columns for run in column.runs)
    landmarks_before = [0]
    shape_of: dict[int, tuple[tuple[str, ...], int]] = {}
    later: dict[tuple[tuple[str, ...], int], list[int]] = defaultdict(list)
    for index, column in enumerate(columns):
        landmarks_before.append(landmarks_before[-1] + (len(column.runs) >= landmark_runs))
        if column.key_id not in shape_of:
            key = keys[column.key_id]
            shape_of[column.key_id] = (tuple(skeleton(key)), len(key.split()))
        if column.runs != every:
            later[shape_of[column.key_id]].append(index)
    for i, a in enumerate(columns):
        if a.runs == every:
            continue
        same = later[shape_of[a.key_id]]
        for j in same[bisect.bisect_right(same, i) :]:
            if landmarks_before[j] - landmarks_before[i + 1] > 0:
                break
            b = columns[j]
            if not a.runs & b.runs and one_value_apart(keys[a.key_id], keys[b.key_id]):
                return i, j
    return None


def one_value_apart(first: str, second: str) -> bool:
    """Whether two keys are one command with another value in one place: the same command words
    (`skeleton`), and one word different that is a value (a flag's, or one that is no plain word), not a
    command word or another option.

    `kubectl get pods` and `kubectl get ns`, `git push` and `git pull` differ in a command word: different
    steps (also after a flag's value: `kubectl -n shop get pods`). `--force` and `--prune` are different
    options; `--size=2x` and `--size=4x`, `--size 2x` and `--size 4x` one option with two values.
    """
    if first == second or skeleton(first) != skeleton(second):
        return False
    first_words, second_words = first.split(), second.split()
    if len(first_words) != len(second_words):
        return False
    differing = [position for position in range(len(first_words)) if first_words[position] != second_words[position]]
    if len(differing) != 1:
        return False
    position = differing[0]
    one, other = first_words[position], second_words[position]
    if one.startswith("-") or other.startswith("-"):
        return "=" in one and one.split("=", 1)[0] == other.split("=", 1)[0]
    before = first_words[position - 1] if position else ""
    if before.startswith("-") and "=" not in before:
        return True
    return not (_COMMAND_WORD.fullmatch(one) and _COMMAND_WORD.fullmatch(other))


_COMMAND_WORD = re.compile(r"[a-z][a-z-]*")
"""A word that may be a subcommand (`get`, `pods`, `update-service`) where it stands alone; a value has
other characters (`performance-2x`, `deployment/web`, `v1.2`)."""


def group_columns(columns: Sequence[Column]) -> list[list[Column]]:
    """Consecutive columns whose commands were run together (one tool call, one operation) share a step."""
    groups: list[list[Column]] = []
    for column in columns:
        if groups and _ran_together(groups[-1][-1], column):
            groups[-1].append(column)
        else:
            groups.append([column])
    return groups


def _ran_together(first: Column, second: Column) -> bool:
    by_run = {member.run: member for member in first.members}
    shared = together = 0
    for member in second.members:
        before = by_run.get(member.run)
        if before is None:
            continue
        shared += 1
        same_call = (
            before.command.operation
            and before.command.operation == member.command.operation
            and member.position == before.position + 1
            and before.command.provenance.path == member.command.provenance.path
        )
        together += bool(same_call)
    return shared > 0 and together * 2 > shared


def most_common_operation(column_group: Sequence[Column]) -> str:
    counts = Counter(
        member.command.operation for column in column_group for member in column.members if member.command.operation
    )
    if not counts:
        return ""
    return max(sorted(counts), key=lambda title: counts[title])
