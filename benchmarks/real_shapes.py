"""The "real shapes" tier: notes written the way teams really write them (tests/data/real-shapes/, written
independently of the code, with a human's expectations in EXPECTED.json), scored on what a careful reader
extracts: commands, failure lessons, and which notes each procedure's runbook is mined from.

Run from the repository root: ``python -m benchmarks.real_shapes`` (part of ``make bench-quality``).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from runbook_synth import GenerateRequest, RunbookSynthError, generate
from runbook_synth.pipeline import ingest
from runbook_synth.redact import redact_text
from runbook_synth.settings import load_settings

ROOT = Path(__file__).resolve().parents[1] / "tests" / "data" / "real-shapes"
RESULTS = Path(__file__).resolve().parent / "results" / "real_shapes.json"


def main() -> int:
    expected = json.loads((ROOT / "EXPECTED.json").read_text())
    settings = load_settings(ROOT)
    by_path = {obs.path: obs for obs in ingest(ROOT, settings).observations}
    wanted_total = got_total = matched = exact_files = files = 0
    for path, item in sorted(expected["files"].items()):
        if "commands" not in item or "/journals/" in path:
            continue
        files += 1
        wanted = [(c["line"], redact_text(c["command"], path).text) for c in item["commands"]]
        observation = by_path.get(path)
        got = [(run.provenance.line, run.command) for run in observation.commands] if observation else []
        wanted_total += len(wanted)
        got_total += len(got)
        matched += len(set(wanted) & set(got))
        exact_files += got == wanted
    lessons = found_symptom = found_cause = found_fix = 0
    for path, item in sorted(expected["files"].items()):
        failure = item.get("failure")
        if not failure:
            continue
        lessons += 1
        detail = by_path[path].failure if path in by_path else None
        first = failure["symptom"].strip().splitlines()[0].strip()
        if detail is not None:
            found_symptom += any(first in m for m in detail.error_messages) or first in detail.symptoms
            found_cause += bool(failure.get("cause")) and bool(detail.root_cause)
            fixes = failure.get("fix_commands") or []
            found_fix += bool(fixes) and redact_text(fixes[0], path).text.split("\n")[0] in "\n".join(
                detail.fix_commands
            )
    causes = sum(1 for item in expected["files"].values() if item.get("failure", {}).get("cause"))
    fixes_wanted = sum(1 for item in expected["files"].values() if item.get("failure", {}).get("fix_commands"))
    selection = {}
    for name, truth in sorted(expected["procedures"].items()):
        operation, scope = name.split(" ", 1)
        try:
            runbook = generate(GenerateRequest(ROOT, operation, scope.replace("-", " "), date(2026, 12, 1), settings))
            mined = set(runbook.runbook.sources)
        except RunbookSynthError as error:
            print(f"  {name}: {error}", file=sys.stderr)
            mined = set()
        hits = len(mined & set(truth))
        executions = {s for s in mined if s in truth or (s in by_path and by_path[s].is_execution)}
        selection[name] = {
            "recall": round(hits / len(truth), 2),
            "precision": round(hits / len(executions), 2) if executions else 0.0,
        }
    report = {
        "commands": {
            "files": files,
            "files_exact": exact_files,
            "recall": round(matched / wanted_total, 3) if wanted_total else 0.0,
            "precision": round(matched / got_total, 3) if got_total else 0.0,
        },
        "failure_lessons": {
            "notes": lessons,
            "symptom": round(found_symptom / lessons, 2),
            "cause": round(found_cause / causes, 2) if causes else 0.0,
            "fix": round(found_fix / fixes_wanted, 2) if fixes_wanted else 0.0,
        },
        "selection": selection,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    c, f = report["commands"], report["failure_lessons"]
    print("| real-shapes tier | value |\n|---|---|")
    print(f"| files with exactly the expected commands | {c['files_exact']} of {c['files']} |")
    print(f"| command recall / precision | {c['recall']:.2f} / {c['precision']:.2f} |")
    print(f"| failure notes: symptom / cause / fix found | {f['symptom']:.2f} / {f['cause']:.2f} / {f['fix']:.2f} |")
    for name, scores in selection.items():
        print(
            f"| runs selected for `{name}`: recall / precision | {scores['recall']:.2f} / {scores['precision']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
