"""Speed benchmark (issue 13): every command timed against the parse-only floor, with peak memory.

``python -m benchmarks.speed [--sizes 1000,10000,50000] [--runs 3] [--profile] [--no-micro]``

For each size it writes a deterministic corpus (``benchmarks.speed_corpus``) under
``benchmarks/.work/speed/<size>/`` and times, in child processes so imports and peak RSS are the command's
own: the floor (read every file and parse its frontmatter with python-frontmatter, nothing else),
``runbook --help``, one runbook of the corpus's biggest pattern cold (no state, no runbook on disk) and
warm (right after the cold one), and, when ``runbook --help`` lists it, ``runbook regenerate`` cold,
warm with nothing changed, ``list`` and the one runbook again in the state a regenerate leaves (what the
nightly job gives the slash command), and warm after 1 % of the files changed. (``list`` with no state
at all costs what a cold regenerate costs, it parses every file, and is not measured.) Each figure is
the median of ``--runs`` runs, fewer where the runs pass ``REPEAT_BUDGET`` seconds (so a run of a minute or
more runs once, and the quick ones at the largest size still give a median of three). A micro-benchmark
puts one note of 10,000 and one of 100,000 commands through ``list`` and generation. Results go to
``benchmarks/results/speed.json`` and a markdown table is printed for the README. ``--profile`` also
records pyinstrument profiles of ``list`` and one generation at the largest size up to 10,000 files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.speed_corpus import SpeedCorpus, procedures, touch_share, write_big_note, write_speed_corpus
from benchmarks.speed_sources import default_end, place_store, write_sources_store

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work" / "speed"
RESULTS = REPO / "benchmarks" / "results" / "speed.json"
BIN = Path(sys.executable).parent
RUNBOOK = str(BIN / "runbook")
PYINSTRUMENT = str(BIN / "pyinstrument")
CORPUS_VERSION = "1"
"""Bump when ``speed_corpus`` changes, so stale corpora on disk are written again."""
SEED = 13
MICRO_COMMANDS = (10_000, 100_000)
TYPE_COMMANDS = {"deployment", "rollback", "incident-response", "migration", "scaling"}

# The floor: what any tool reading these files must pay at least (one process, no cache).
FLOOR_CODE = """
import sys
from pathlib import Path
import frontmatter
root = Path(sys.argv[1])
count = 0
for folder in (root / ".claude" / "observations", root / ".claude" / "journals"):
    for path in folder.rglob("*.md"):
        try:
            frontmatter.loads(path.read_text(encoding="utf-8"))
        except Exception:
            pass
        count += 1
print(count)
"""


@dataclass
class Measure:
    """One measured command: median wall seconds over its runs and the largest peak RSS among them."""

    name: str
    seconds: float | None
    runs: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    cpu_seconds: float | None = None
    """Median user+sys CPU of the child: steadier than wall time on a machine shared with other work."""
    ratio_to_floor: float | None = None
    cpu_ratio_to_floor: float | None = None
    exit_codes: list[int] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    exit_code: int
    stderr_tail: str


def run_child(argv: Sequence[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> Timed:
    """Run one child and return its wall time and its own peak RSS (``wait4`` gives that child's rusage)."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink, (WORK / "last-stderr.txt").open("wb") as errors:
        process = subprocess.Popen(list(argv), cwd=cwd, stdout=sink, stderr=errors, env=env)
        deadline = started + timeout
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                status = -9 << 8
                break
            time.sleep(0.01)
    seconds = time.perf_counter() - started
    process.returncode = 0  # reaped by wait4; keep Popen from waiting again
    tail = (WORK / "last-stderr.txt").read_text(encoding="utf-8", errors="replace")[-400:]
    code = os.waitstatus_to_exitcode(status) if status >= 0 else -9
    cpu = usage.ru_utime + usage.ru_stime if usage else 0.0
    return Timed(seconds, usage.ru_maxrss / 1024.0 if usage else 0.0, cpu, code, tail)


def measure(
    name: str,
    argv: Sequence[str],
    cwd: Path,
    runs: int,
    timeout: float,
    before: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> Measure:
    """Median of ``runs`` runs, or of fewer once they have taken ``REPEAT_BUDGET`` seconds (a cold run of
    10,000 files is one minute on a slow day); ``before`` runs before every run (a cold start: state store
    and output reset)."""
    times: list[float] = []
    cpu: list[float] = []
    peak = 0.0
    codes: list[int] = []
    note = ""
    for _ in range(runs):
        if before is not None:
            before()
        timed = run_child(argv, cwd, timeout, env)
        codes.append(timed.exit_code)
        cpu.append(timed.cpu_seconds)
        peak = max(peak, timed.peak_rss_mb)
        if timed.exit_code == -9:
            note = f"killed after {timeout:.0f} s"
            times.append(timed.seconds)
            break
        if timed.exit_code != 0:
            note = timed.stderr_tail.strip().splitlines()[-1] if timed.stderr_tail.strip() else "failed"
        times.append(timed.seconds)
        if sum(times) >= REPEAT_BUDGET:
            break
    result = Measure(name, round(statistics.median(times), 3), [round(t, 3) for t in times], round(peak, 1))
    result.exit_codes, result.note = codes, note
    result.cpu_seconds = round(statistics.median(cpu), 3)
    print(
        f"  {name:<30} {result.seconds:>8.2f} s wall {result.cpu_seconds:>8.2f} s cpu"
        f" {result.peak_rss_mb:>7.1f} MB  {note}",
        file=sys.stderr,
    )
    return result


REPEAT_BUDGET = 30.0
"""Seconds of runs after which a measure is not repeated: the median of three where a run is quick, one or two
runs where it costs half a minute or more, so the whole benchmark fits in fifteen minutes from a fresh clone
(11 min 50 s on 2026-12-04, 17 min on a slow day). At 45 s the cold runs at 10,000 files, 40-50 s each, ran
twice: 90 s of a 16-minute run, for a median of two, which is a mean."""


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def available_commands() -> set[str]:
    """Command names listed by ``runbook --help`` (so the regenerate measures run once it exists)."""
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"}
    text = subprocess.run([RUNBOOK, "--help"], capture_output=True, text=True, env=env, check=False).stdout
    return set(re.findall(r"^\W*([a-z][a-z-]+)\s{2,}", text, flags=re.MULTILINE))


def corpus_for(size: int) -> SpeedCorpus:
    """The corpus of ``size`` files, written once and reused while its stamp matches the generator."""
    root = WORK / str(size)
    stamp = root / ".corpus.json"
    if stamp.exists():
        saved = json.loads(stamp.read_text(encoding="utf-8"))
        if saved.get("version") == CORPUS_VERSION and saved.get("seed") == SEED:
            return SpeedCorpus(root, saved["files"], saved["runs_by_procedure"], tuple(saved["paths"]))
    _remove(root)
    started = time.perf_counter()
    corpus = write_speed_corpus(root, size, seed=SEED)
    print(f"wrote {corpus.files} files under {root} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    stamp.write_text(
        json.dumps(
            {
                "version": CORPUS_VERSION,
                "seed": SEED,
                "files": corpus.files,
                "runs_by_procedure": corpus.runs_by_procedure,
                "paths": corpus.paths,
            }
        ),
        encoding="utf-8",
    )
    return corpus


def biggest_pattern(corpus: SpeedCorpus) -> tuple[str, str]:
    """Operation type and scope of the procedure with the most runs (``deployment lambda`` by design)."""
    by_name = {item.procedure.name: item.procedure for item in procedures()}
    name = max(sorted(corpus.runs_by_procedure), key=lambda key: corpus.runs_by_procedure[key])
    return by_name[name].operation_type, by_name[name].scope


def generate_argv(operation: str, scope: str, root: Path, *extra: str) -> list[str]:
    head = [RUNBOOK, operation] if operation in TYPE_COMMANDS else [RUNBOOK, "generate", operation]
    return [*head, scope, "--root", str(root), "--quiet", *extra]


def state_paths(root: Path) -> list[Path]:
    """What makes a run cold: the state store and the runbooks already written."""
    return [root / ".runbook-synth", root / "runbooks"]


def cold_start(root: Path, sources: Path | None) -> Callable[[], None]:
    """Reset to a cold start: no runbooks, no parse cache, no snapshot; the ingested records (when the size
    has them) kept, since `runbook ingest` is the only copy a user has of them."""

    def reset() -> None:
        for path in state_paths(root):
            _remove(path)
        if sources is not None:
            place_store(sources, root)

    return reset


def bench_size(
    corpus: SpeedCorpus, runs: int, timeout: float, commands: set[str], sources: Path | None = None
) -> dict[str, object]:
    root = corpus.root
    operation, scope = biggest_pattern(corpus)
    print(f"{corpus.files} files, biggest pattern {operation} {scope!r}, {runs} run(s) each", file=sys.stderr)
    cold = cold_start(root, sources)
    listing = [RUNBOOK, "list", "--root", str(root), "--quiet"]
    measures = [
        measure("floor", [sys.executable, "-c", FLOOR_CODE, str(root)], REPO, runs, timeout),
        measure("runbook --help", [RUNBOOK, "--help"], REPO, runs, timeout),
    ]
    generate = generate_argv(operation, scope, root)
    measures.append(measure(f"{operation} {scope} (cold)", generate, REPO, runs, timeout, before=cold))
    measures.append(measure(f"{operation} {scope} (warm)", generate, REPO, runs, timeout))
    if "regenerate" in commands:
        regenerate = [RUNBOOK, "regenerate", "--root", str(root), "--quiet"]
        measures.append(measure("regenerate (cold)", regenerate, REPO, runs, timeout, before=cold))
        measures.append(measure("regenerate (warm, unchanged)", regenerate, REPO, runs, timeout))
        # the state a nightly regenerate leaves: `list` and the slash command's one runbook answer from it
        measures.append(measure("runbook list (after regenerate)", listing, REPO, runs, timeout))
        measures.append(measure(f"{operation} {scope} (after regenerate)", generate, REPO, runs, timeout))
        originals = {path: (root / path).read_bytes() for path in corpus.paths}
        touched: set[str] = set()
        changed: list[Timed] = []
        try:
            for seed in range(runs):  # each run changes a fresh 1 % on top of the previous warm state
                touched.update(touch_share(corpus, 0.01, seed=seed))
                changed.append(run_child(regenerate, REPO, timeout))
                if sum(timed.seconds for timed in changed) >= REPEAT_BUDGET:
                    break
        finally:
            for path in touched:
                (root / path).write_bytes(originals[path])
        item = Measure(
            "regenerate (warm, 1 % changed)",
            round(statistics.median(timed.seconds for timed in changed), 3),
            [round(timed.seconds, 3) for timed in changed],
            round(max(timed.peak_rss_mb for timed in changed), 1),
        )
        item.exit_codes = [timed.exit_code for timed in changed]
        item.cpu_seconds = round(statistics.median(timed.cpu_seconds for timed in changed), 3)
        measures.append(item)
    floor, floor_cpu = measures[0].seconds or 0.0, measures[0].cpu_seconds or 0.0
    for item in measures:
        if item.seconds is not None and floor:
            item.ratio_to_floor = round(item.seconds / floor, 2)
        if item.cpu_seconds is not None and floor_cpu:
            item.cpu_ratio_to_floor = round(item.cpu_seconds / floor_cpu, 2)
    return {
        "files": corpus.files,
        "sources": SOURCES_NOTE if sources is not None else "",
        "pattern": f"{operation} {scope}",
        "pattern_runs": max(corpus.runs_by_procedure.values()),
        "runs": runs,
        "measures": [asdict(item) for item in measures],
    }


def bench_micro(timeout: float) -> list[dict[str, object]]:
    """One note of 10,000 and of 100,000 commands through ``list`` and generation (target: ≤ 10× apart)."""
    rows: list[dict[str, object]] = []
    for commands in MICRO_COMMANDS:
        root = WORK / f"micro-{commands}"
        _remove(root)
        write_big_note(root, commands)
        # The default cap (max_commands_per_source = 5000) would measure the cap, not the pipeline.
        (root / "runbook-synth.toml").write_text("max_commands_per_source = 1000000\n", encoding="utf-8")
        print(f"one note of {commands} commands", file=sys.stderr)
        listed = measure(f"list, {commands} commands", [RUNBOOK, "list", "--root", str(root)], REPO, 1, timeout)
        generated = measure(
            f"generate, {commands} commands",
            generate_argv("deployment", "lambda", root, "--min-runs", "1", "--stdout"),
            REPO,
            1,
            timeout,
        )
        rows.append({"commands": commands, "list": asdict(listed), "generate": asdict(generated)})
    return rows


def import_times(top: int = 12) -> dict[str, object]:
    """Import cost of the CLI by top-level package (own time summed over its modules, ``-X importtime``)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import runbook_synth.cli"],
        capture_output=True,
        text=True,
        check=False,
    )
    by_package: dict[str, int] = {}
    total = 0
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        package = match.group(4).split(".")[0]
        by_package[package] = by_package.get(package, 0) + int(match.group(1))
        if len(match.group(3)) == 1:
            total += int(match.group(2))
    heaviest = sorted(by_package.items(), key=lambda item: -item[1])[:top]
    return {
        "total_ms": round(total / 1000, 1),
        "by_package_ms": {name: round(us / 1000, 1) for name, us in heaviest},
    }


def profile(corpus: SpeedCorpus, timeout: float) -> dict[str, str]:
    """pyinstrument profiles of ``list`` and one generation; text reports under ``.work/speed/profiles/``."""
    out = WORK / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    operation, scope = biggest_pattern(corpus)
    targets = {
        "list": ["-m", "runbook_synth", "list", "--root", str(corpus.root), "--quiet"],
        "generate": ["-m", "runbook_synth", *generate_argv(operation, scope, corpus.root)[1:]],
    }
    written: dict[str, str] = {}
    for name, argv in targets.items():
        for path in state_paths(corpus.root):
            _remove(path)
        session = out / f"{name}-{corpus.files}.pyisession"
        run_child([PYINSTRUMENT, "-i", "0.005", "-r", "pyisession", "-o", str(session), *argv], REPO, timeout)
        written[name] = str(render_profile(session))
    return written


def render_profile(session_path: Path) -> Path:
    """A tree (percent of total) and two flat views (own time, total time) of one pyinstrument session."""
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    session = Session.load(str(session_path))
    parts = [
        ConsoleRenderer(time="percent_of_total").render(session),
        "\n==== flat, own time ====\n",
        ConsoleRenderer(flat=True, flat_time="self").render(session),
        "\n==== flat, total time ====\n",
        ConsoleRenderer(flat=True, flat_time="total").render(session),
    ]
    text_path = session_path.with_suffix(".txt")
    text_path.write_text("".join(parts), encoding="utf-8")
    session_path.unlink()  # hundreds of MB at 10,000 files; the text views are what we read
    return text_path


def _cell(item: dict[str, object], cpu: bool = False) -> str:
    seconds = item["cpu_seconds"] if cpu else item["seconds"]
    ratio = item.get("cpu_ratio_to_floor" if cpu else "ratio_to_floor")
    if seconds is None:
        return "–"
    killed = str(item.get("note", "")).startswith("killed")
    text = f"> {seconds:.0f} s (killed)" if killed else f"{seconds:.2f} s"
    if ratio is not None and item["name"] != "floor":
        text += f" ({ratio:.1f}×)"
    if not cpu and item.get("peak_rss_mb"):
        text += f", {item['peak_rss_mb']:.0f} MB"
    return text + (" ⚠" if item.get("note") else "")


def markdown(results: dict[str, object]) -> str:
    """The README tables: wall seconds (× floor) and peak RSS per measure, growth, CPU seconds, micro."""
    sizes = results["sizes"]
    assert isinstance(sizes, list)
    names = [m["name"] for m in sizes[0]["measures"]]
    header = "| files | " + " | ".join(f"`{n}`" if n != "floor" else "floor" for n in names) + " |"
    rule = "|---" * (len(names) + 1) + "|"
    lines = ["Wall time (× the floor), peak RSS:", "", header, rule]
    for row in sizes:
        cells = {m["name"]: _cell(m) for m in row["measures"]}
        lines.append(f"| {row['files']:,} | " + " | ".join(cells.get(n, "–") for n in names) + " |")
    for step in results["growth"]:
        cells = [f"{step['factors'][n]:.1f}×" if step["factors"].get(n) else "–" for n in names]
        lines.append(f"| growth {step['from']:,} → {step['to']:,} | " + " | ".join(cells) + " |")
    lines += ["", "CPU time of the process (user + sys, × the floor's):", "", header, rule]
    for row in sizes:
        cells = {m["name"]: _cell(m, cpu=True) for m in row["measures"]}
        lines.append(f"| {row['files']:,} | " + " | ".join(cells.get(n, "–") for n in names) + " |")
    micro = results.get("micro") or []
    if micro:
        lines += ["", "| one note | `runbook list` | generation |", "|---|---|---|"]
        for row in micro:
            lines.append(f"| {row['commands']:,} commands | {_cell(row['list'])} | {_cell(row['generate'])} |")
        if len(micro) == 2 and micro[0]["list"]["seconds"] and micro[0]["generate"]["seconds"]:
            ratios = []
            for key in ("list", "generate"):
                ratio = micro[1][key]["seconds"] / micro[0][key]["seconds"]
                killed = str(micro[1][key].get("note", "")).startswith("killed")
                ratios.append(f"> {ratio:.1f}× (killed)" if killed else f"{ratio:.1f}×")
            lines.append(f"| 100,000 ÷ 10,000 | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


def growth(sizes: list[dict[str, object]]) -> list[dict[str, object]]:
    """How each measure grows from one size to the next (near 10× from 1,000 to 10,000 is linear)."""
    rows: list[dict[str, object]] = []
    for small, big in itertools.pairwise(sizes):
        before = {m["name"]: m["seconds"] for m in small["measures"]}
        factors = {
            m["name"]: round(m["seconds"] / before[m["name"]], 2)
            for m in big["measures"]
            if m["seconds"] and before.get(m["name"])
        }
        rows.append({"from": small["files"], "to": big["files"], "factors": factors})
    return rows


def git_commit() -> dict[str, object]:
    """HEAD and whether the tree had local changes (read-only git calls)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _save(path: Path, results: dict[str, object]) -> None:
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


SOURCE_EVENTS = 1_000_000
SOURCE_RUNS = 10_000
SOURCES_NOTE = f"state store with {SOURCE_EVENTS:,} CloudWatch events and {SOURCE_RUNS:,} GitHub Actions runs"


def sources_store() -> Path:
    """The pristine records-only store, written once (about 20 s, 650 MB) and reused."""
    folder = WORK / "sources"
    path = folder / ".runbook-synth" / "state.sqlite"
    stamp = folder / "stamp.json"
    wanted = {"events": SOURCE_EVENTS, "runs": SOURCE_RUNS, "version": 1}
    if path.exists() and stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == wanted:
        return path
    print(f"writing a {SOURCES_NOTE}", file=sys.stderr)
    written = write_sources_store(folder, SOURCE_EVENTS, SOURCE_RUNS, default_end())
    stamp.write_text(json.dumps(wanted), encoding="utf-8")
    return written


def byte_compile() -> None:
    """Compile the package's modules once, as `pip install` does for an installed package: an editable
    install under PYTHONDONTWRITEBYTECODE (set on CI machines and this one) otherwise compiles every module
    in every measured command, 0.1 s a command that no user's installed copy pays."""
    import compileall

    compileall.compile_dir(str(REPO / "src" / "runbook_synth"), quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="corpus sizes in files, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs per measure (fewer past REPEAT_BUDGET seconds)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a command is killed")
    parser.add_argument("--profile", action="store_true", help="pyinstrument list + generation (≤ 10,000 files)")
    parser.add_argument("--no-micro", action="store_true", help="skip the one-big-note micro-benchmark")
    parser.add_argument("--micro-only", action="store_true", help="rerun the micro-benchmark into existing results")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON results go")
    parser.add_argument(
        "--sources-at",
        default="largest",
        help="sizes whose state store holds 1,000,000 CloudWatch events and 10,000 CI runs: largest, all or none",
    )
    options = parser.parse_args(argv)
    sizes = sorted(int(part) for part in options.sizes.split(",") if part.strip())
    WORK.mkdir(parents=True, exist_ok=True)
    if options.micro_only:
        saved = json.loads(options.output.read_text(encoding="utf-8"))
        saved["micro"] = bench_micro(options.timeout)
        _save(options.output, saved)
        print(markdown(saved))
        return 0
    byte_compile()
    commands = available_commands()
    started = datetime.now(UTC)
    results: dict[str, object] = {
        "date": started.isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "git": git_commit(),
        "commands_found": sorted(commands),
        "regenerate_measured": "regenerate" in commands,
        "imports": import_times(),
        "sizes": [],
    }
    rows: list[dict[str, object]] = []
    options.output.parent.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        corpus = corpus_for(size)
        runs = options.runs  # REPEAT_BUDGET runs the minutes-long measures of the largest size once
        with_sources = options.sources_at == "all" or (options.sources_at == "largest" and size == sizes[-1])
        rows.append(bench_size(corpus, runs, options.timeout, commands, sources_store() if with_sources else None))
        results["sizes"], results["growth"] = rows, growth(rows)
        _save(options.output, results)  # a run of many minutes keeps what it measured if it is stopped
    results["micro"] = [] if options.no_micro else bench_micro(options.timeout)
    if options.profile:
        largest = max((size for size in sizes if size <= 10_000), default=sizes[0])
        results["profiles"] = profile(corpus_for(largest), options.timeout)
    results["wall_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    _save(options.output, results)
    print(markdown(results))
    print(f"\nresults in {options.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
