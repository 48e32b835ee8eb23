"""Template-mining benchmark: our miner against Drain3 on Loghub-2k (corrected labels).

Run from the repository root with ``python -m benchmarks.templates`` (``make bench-templates``).
Every miner sees the same header-cut ``Content`` lines, timed in the same process and interleaved,
so the throughput figures are comparable even on a busy machine. Drain3 runs twice: with the
per-system settings of logparser's published Drain benchmark (``tuned``), and with one generic
configuration taken from Drain3's example ``drain3.ini`` (``generic``). Ours runs with its defaults
for all 16 systems.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runbook_synth.logtemplates import mine_templates

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = REPO_ROOT / "benchmarks" / "results" / "templates.json"
REPEATS = 3

# logparser's benchmark/Drain_benchmark.py (logpai/logparser): header format, masking regexes,
# similarity threshold and tree depth, tuned per system. "Andriod" is spelled "Android" here.
DRAIN_TUNED: dict[str, tuple[str, list[str], float, int]] = {
    "HDFS": (
        "<Date> <Time> <Pid> <Level> <Component>: <Content>",
        [r"blk_-?\d+", r"(\d+\.){3}\d+(:\d+)?"],
        0.5,
        4,
    ),
    "Hadoop": ("<Date> <Time> <Level> \\[<Process>\\] <Component>: <Content>", [r"(\d+\.){3}\d+"], 0.5, 4),
    "Spark": (
        "<Date> <Time> <Level> <Component>: <Content>",
        [r"(\d+\.){3}\d+", r"\b[KGTM]?B\b", r"([\w-]+\.){2,}[\w-]+"],
        0.5,
        4,
    ),
    "Zookeeper": (
        "<Date> <Time> - <Level>  \\[<Node>:<Component>@<Id>\\] - <Content>",
        [r"(/|)(\d+\.){3}\d+(:\d+)?"],
        0.5,
        4,
    ),
    "BGL": (
        "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>",
        [r"core\.\d+"],
        0.5,
        4,
    ),
    "HPC": ("<LogId> <Node> <Component> <State> <Time> <Flag> <Content>", [r"=\d+"], 0.5, 4),
    "Thunderbird": (
        "<Label> <Timestamp> <Date> <User> <Month> <Day> <Time> <Location> <Component>(\\[<PID>\\])?: <Content>",
        [r"(\d+\.){3}\d+"],
        0.5,
        4,
    ),
    "Windows": ("<Date> <Time>, <Level>                  <Component>    <Content>", [r"0x.*?\s"], 0.7, 5),
    "Linux": (
        "<Month> <Date> <Time> <Level> <Component>(\\[<PID>\\])?: <Content>",
        [r"(\d+\.){3}\d+", r"\d{2}:\d{2}:\d{2}"],
        0.39,
        6,
    ),
    "Android": (
        "<Date> <Time>  <Pid>  <Tid> <Level> <Component>: <Content>",
        [
            r"(/[\w-]+)+",
            r"([\w-]+\.){2,}[\w-]+",
            r"\b(\-?\+?\d+)\b|\b0[Xx][a-fA-F\d]+\b|\b[a-fA-F\d]{4,}\b",
        ],
        0.2,
        6,
    ),
    "HealthApp": ("<Time>\\|<Component>\\|<Pid>\\|<Content>", [], 0.2, 4),
    "Apache": ("\\[<Time>\\] \\[<Level>\\] <Content>", [r"(\d+\.){3}\d+"], 0.5, 4),
    "Proxifier": (
        "\\[<Time>\\] <Program> - <Content>",
        [r"<\d+\ssec", r"([\w-]+\.)+[\w-]+(:\d+)?", r"\d{2}:\d{2}(:\d{2})*", r"[KGTM]B"],
        0.6,
        3,
    ),
    "OpenSSH": (
        "<Date> <Day> <Time> <Component> sshd\\[<Pid>\\]: <Content>",
        [r"(\d+\.){3}\d+", r"([\w-]+\.){2,}[\w-]+"],
        0.6,
        5,
    ),
    "OpenStack": (
        "<Logrecord> <Date> <Time> <Pid> <Level> <Component> \\[<ADDR>\\] <Content>",
        [r"((\d+\.){3}\d+,?)+", r"/.+?\s", r"\d+"],
        0.5,
        5,
    ),
    "Mac": (
        "<Month>  <Date> <Time> <User> <Component>\\[<PID>\\]( \\(<Address>\\))?: <Content>",
        [r"([\w-]+\.){2,}[\w-]+"],
        0.7,
        6,
    ),
}

# Drain3's examples/drain3.ini: one masking list and the default tree settings for every system.
DRAIN_GENERIC_MASKS: list[tuple[str, str]] = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]


@dataclass(frozen=True)
class Dataset:
    name: str
    contents: list[str]
    labels: list[str]
    cut_fallbacks: int


@dataclass(frozen=True)
class Scores:
    grouping_accuracy: float
    f1_group_accuracy: float
    predicted_groups: int


def loghub_dir() -> Path:
    env = os.environ.get("LOGHUB_DIR")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "datasets" / "loghub-2k"


def format_regex(log_format: str) -> re.Pattern[str]:
    """logparser's header regex: each ``<Field>`` is a lazy group, runs of spaces match any whitespace."""
    parts = re.split(r"(<[^<>]+>)", log_format)
    regex = ""
    for k, part in enumerate(parts):
        if k % 2 == 0:
            regex += re.sub(" +", r"\\s+", part)
        else:
            regex += f"(?P<{part.strip('<>')}>.*?)"
    return re.compile("^" + regex + "$")


def load_dataset(root: Path, name: str) -> Dataset:
    """Cut each raw line's header with the system's format; fall back to the CSV's Content if it fails."""
    folder = root / name
    raw = (folder / f"{name}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
    with (folder / f"{name}_2k.log_structured_corrected.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pattern = format_regex(DRAIN_TUNED[name][0])
    contents: list[str] = []
    fallbacks = 0
    for line, row in zip(raw, rows, strict=True):
        match = pattern.match(line.strip())
        if match is None:
            fallbacks += 1
            contents.append(row["Content"])
        else:
            contents.append(match.group("Content"))
    return Dataset(name, contents, [row["EventId"] for row in rows], fallbacks)


def score(labels: Sequence[str], predicted: Sequence[object]) -> Scores:
    """Grouping accuracy and F1 group accuracy, as defined in the dataset README (logpai's evaluator)."""
    true_groups: dict[str, set[int]] = {}
    pred_groups: dict[object, set[int]] = {}
    for i, (t, p) in enumerate(zip(labels, predicted, strict=True)):
        true_groups.setdefault(t, set()).add(i)
        pred_groups.setdefault(p, set()).add(i)
    true_sets = {frozenset(s) for s in true_groups.values()}
    correct_lines = 0
    correct_groups = 0
    for members in pred_groups.values():
        if frozenset(members) in true_sets:
            correct_lines += len(members)
            correct_groups += 1
    precision = correct_groups / len(pred_groups) if pred_groups else 0.0
    recall = correct_groups / len(true_groups) if true_groups else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(correct_lines / len(labels), f1, len(pred_groups))


def run_ours(lines: Sequence[str]) -> list[int]:
    ids, _ = mine_templates(lines)
    return ids


def drain3_runner(masks: Sequence[tuple[str, str]], sim_th: float, depth: int) -> Callable[[Sequence[str]], list[int]]:
    from drain3 import TemplateMiner  # type: ignore[import-untyped]
    from drain3.masking import MaskingInstruction  # type: ignore[import-untyped]
    from drain3.template_miner_config import TemplateMinerConfig  # type: ignore[import-untyped]

    def run(lines: Sequence[str]) -> list[int]:
        config = TemplateMinerConfig()
        config.drain_sim_th = sim_th
        config.drain_depth = depth
        config.masking_instructions = [MaskingInstruction(regex, name) for regex, name in masks]
        config.profiling_enabled = False
        miner = TemplateMiner(config=config)
        return [int(miner.add_log_message(line)["cluster_id"]) for line in lines]

    return run


def main() -> int:
    root = loghub_dir()
    if not root.is_dir():
        print(f"Loghub-2k not found at {root} (set LOGHUB_DIR); skipping the template benchmark.")
        return 0
    try:
        import drain3  # noqa: F401
    except ImportError:
        print("drain3 is not installed (pip install -e '.[bench]'); skipping the template benchmark.")
        return 0

    names = [name for name in DRAIN_TUNED if (root / name).is_dir()]
    miners = ["ours", "drain3_tuned", "drain3_generic"]
    results: dict[str, dict[str, dict[str, float | int]]] = {}
    info: dict[str, dict[str, int]] = {}
    seconds = {m: 0.0 for m in miners}
    total_lines = 0
    started = time.perf_counter()
    for name in names:
        data = load_dataset(root, name)
        _, regexes, sim_th, depth = DRAIN_TUNED[name]
        runners: dict[str, Callable[[Sequence[str]], list[int]]] = {
            "ours": run_ours,
            # logparser's Drain replaces every regex match with "<*>"; Drain3 writes "<" + name + ">".
            "drain3_tuned": drain3_runner([(regex, "*") for regex in regexes], sim_th, depth),
            "drain3_generic": drain3_runner(DRAIN_GENERIC_MASKS, 0.4, 4),
        }
        best: dict[str, float] = {m: float("inf") for m in miners}
        outputs: dict[str, list[int]] = {}
        for _ in range(REPEATS):
            for miner in miners:
                t0 = time.perf_counter()
                outputs[miner] = runners[miner](data.contents)
                best[miner] = min(best[miner], time.perf_counter() - t0)
        results[name] = {}
        for miner in miners:
            s = score(data.labels, outputs[miner])
            seconds[miner] += best[miner]
            results[name][miner] = {
                "grouping_accuracy": round(s.grouping_accuracy, 4),
                "f1_group_accuracy": round(s.f1_group_accuracy, 4),
                "lines_per_second": round(len(data.contents) / best[miner]),
                "groups": s.predicted_groups,
            }
        total_lines += len(data.contents)
        info[name] = {"lines": len(data.contents), "true_groups": len(set(data.labels))}
        info[name]["header_cut_fallbacks"] = data.cut_fallbacks
    averages = {
        miner: {
            key: round(sum(float(results[n][miner][key]) for n in names) / len(names), 4)
            for key in ("grouping_accuracy", "f1_group_accuracy")
        }
        | {"lines_per_second": round(sum(float(results[n][miner]["lines_per_second"]) for n in names) / len(names))}
        for miner in miners
    }
    for miner in miners:  # all lines over all best times: weights each dataset by its size
        averages[miner]["overall_lines_per_second"] = round(total_lines / seconds[miner])
    elapsed = time.perf_counter() - started
    print_table(names, miners, results, averages)
    overall = ", ".join(f"{m} {averages[m]['overall_lines_per_second']:,.0f}" for m in miners)
    print(f"\noverall lines/s (all lines / all time): {overall}")
    print(f"{len(names)} datasets in {elapsed:.1f} s; best of {REPEATS} interleaved runs per miner.")
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "dataset": str(root),
        "repeats": REPEATS,
        "miners": {
            "ours": "runbook_synth.logtemplates defaults, one configuration for all systems",
            "drain3_tuned": "drain3, logparser Drain_benchmark.py per-system regexes, st and depth",
            "drain3_generic": "drain3, examples/drain3.ini masks, sim_th 0.4, depth 4",
        },
        "datasets": info,
        "per_dataset": results,
        "average": averages,
        "elapsed_seconds": round(elapsed, 1),
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return 0


def print_table(
    names: Sequence[str],
    miners: Sequence[str],
    results: dict[str, dict[str, dict[str, float | int]]],
    averages: dict[str, dict[str, float]],
) -> None:
    header = f"{'dataset':<12}" + "".join(f" | {m:^26}" for m in miners)
    sub = f"{'':<12}" + "".join(f" | {'GA':>6} {'F1-GA':>6} {'lines/s':>11}" for _ in miners)
    print(header)
    print(sub)
    print("-" * len(sub))
    for name in [*names, "average"]:
        row = f"{name:<12}"
        for m in miners:
            r = averages[m] if name == "average" else results[name][m]
            ga, f1, lps = r["grouping_accuracy"], r["f1_group_accuracy"], r["lines_per_second"]
            row += f" | {ga:>6.3f} {f1:>6.3f} {lps:>11,.0f}"
        if name == "average":
            print("-" * len(sub))
        print(row)


if __name__ == "__main__":
    sys.exit(main())
