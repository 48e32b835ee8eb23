"""Runs are grouped by what their commands did and named by the evidence of all of them (issue 10).

The notes here are written the way people write them: loose markdown, a title, a sentence, a pasted block,
no tags, and words that name the reason for the work as often as the work.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from runbook_synth.align import roaming_keys
from runbook_synth.cli import app


def note(root: Path, day: str, slug: str, title: str, sentence: str, commands: list[str]) -> None:
    folder = root / ".claude" / "observations"
    folder.mkdir(parents=True, exist_ok=True)
    block = "\n".join(commands)
    text = f"# {title}\n\n{sentence}\n\n```bash\n{block}\n```\n\nall good after that.\n"
    (folder / f"{day}-{slug}.md").write_text(text, encoding="utf-8")


def patterns(root: Path) -> dict[tuple[str, str], int]:
    result = CliRunner().invoke(app, ["list", "--root", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return {(p["operation_type"], p["scope"]): p["executions"] for p in json.loads(result.stdout)["patterns"]}


SCALE_API = [
    "docker service ls --filter name=shop_api",
    "docker service scale shop_api={n}",
    "docker service ps shop_api --filter desired-state=running",
    "curl -fsS https://shop.internal/healthz",
]
TITLES = [
    ("deployed {n} api replicas for the launch", "Did it from the swarm manager."),
    ("incident: shop api to {n} replicas", "latency was climbing, so."),
    ("migrated shop api traffic onto {n} replicas", "quick one."),
]


def test_runs_worded_as_three_types_over_the_same_commands_are_one_scaling_pattern(tmp_path: Path) -> None:
    for index in range(6):
        title, sentence = TITLES[index % 3]
        n = str(4 + index)
        commands = [command.replace("{n}", n) for command in SCALE_API]
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"shop-api-{index}", title.format(n=n), sentence, commands)
    found = patterns(tmp_path)
    assert list(found.values()) == [6], found
    [(kind, scope)] = found
    assert kind == "scaling" and "shop api" in scope, found


def test_words_that_agree_keep_a_rollback_apart_from_the_deployment_it_shares_commands_with(tmp_path: Path) -> None:
    for index in range(3):
        version = f"2.{index}.0"
        note(
            tmp_path,
            f"2026-03-0{index + 1}",
            f"web-release-{index}",
            f"Deployed web {version}",
            "from my laptop",
            [
                f"docker build -t registry.acme.test/web:{version} .",
                f"docker push registry.acme.test/web:{version}",
                f"kubectl -n web set image deployment/web web=registry.acme.test/web:{version}",
                "kubectl -n web rollout status deployment/web",
            ],
        )
        note(
            tmp_path,
            f"2026-04-0{index + 1}",
            f"web-back-{index}",
            f"Rolled back web to {version}",
            "the new build threw 500s",
            [
                f"kubectl -n web set image deployment/web web=registry.acme.test/web:{version}",
                "kubectl -n web rollout status deployment/web",
            ],
        )
    found = patterns(tmp_path)
    assert found.get(("deployment", "kubernetes")) == 3, found
    assert found.get(("rollback", "kubernetes")) == 3, found


def test_a_free_text_scope_finds_the_runs_whose_commands_name_it(tmp_path: Path) -> None:
    sentences = ["paged again at 3am", "woke up to the alert", "same as last week"]
    for index in range(3):
        note(
            tmp_path,
            f"2026-05-0{index + 1}",
            f"paged-{index}",
            f"Paged: restarted it ({index + 1})",
            sentences[index],
            [
                "systemctl status search-indexer --no-pager",
                "journalctl -u search-indexer -n 200 --no-pager",
                "sudo systemctl restart search-indexer",
                "systemctl is-active search-indexer",
            ],
        )
    result = CliRunner().invoke(
        app,
        ["generate", "incident-response", "search indexer", "--root", str(tmp_path), "--stdout", "--format", "json"],
    )
    assert result.exit_code == 0, result.stderr
    runbook = json.loads(result.stdout)
    assert len(runbook["steps"]) >= 3
    assert any("systemctl restart search-indexer" in " ".join(step["commands"]) for step in runbook["steps"])


def test_runs_no_words_type_are_taken_as_the_type_asked_for(tmp_path: Path) -> None:
    for index in range(3):
        note(
            tmp_path,
            f"2026-06-0{index + 1}",
            f"edge-cache-{index}",
            "edge proxies cache warm",
            "ran the usual",
            [
                "varnishadm -T edge-01:6082 'ban req.url ~ ^/catalog'",
                "curl -s -o /dev/null -w '%{http_code}' https://edge-01.acme.test/catalog",
                "varnishstat -1 -f MAIN.cache_hit",
            ],
        )
    assert patterns(tmp_path).get(("other", "edge proxies cache warm")) == 3
    result = CliRunner().invoke(
        app, ["generate", "deployment", "edge proxies cache warm", "--root", str(tmp_path), "--stdout"]
    )
    assert result.exit_code == 0, result.stderr
    assert "varnishadm" in result.stdout


def test_a_run_that_stopped_at_a_failure_does_not_make_its_last_step_wander() -> None:
    complete = [[0, 1, 2, 9, 3, 4, 5, 6]] * 5
    without = [[0, 1, 2, 3, 4, 5, 6]] * 4
    stopped = [[0, 1, 2, 9]]
    sequences = complete + without + stopped
    flags = [False] * 9 + [True]
    assert 9 not in roaming_keys(sequences, stopped=flags)
    wandering = [[0, 9, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5, 9, 6], [9, 0, 1, 2, 3, 4, 5, 6]]
    assert 9 in roaming_keys(wandering + without, stopped=[False] * 7)


def test_a_step_started_through_a_launcher_in_some_runs_is_still_one_step(tmp_path: Path) -> None:
    launchers = [
        "infisical run --env=prod -- {c}",
        "{c}",
        "{c}",
        "envchain prod-aws {c}",
        "{c}",
        "with-secrets prod '{c}'",
    ]
    for index, launcher in enumerate(launchers):
        note(
            tmp_path,
            f"2026-07-0{index + 1}",
            f"infra-apply-{index}",
            "Deployed the network stack",
            "usual terraform dance",
            [
                "terraform -chdir=stacks/network init -input=false",
                "terraform -chdir=stacks/network plan -out=tfplan",
                launcher.format(c="terraform -chdir=stacks/network apply tfplan"),
                "terraform -chdir=stacks/network output -json",
            ],
        )
    result = CliRunner().invoke(
        app, ["generate", "deployment", "infrastructure", "--root", str(tmp_path), "--stdout", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)["steps"]
    applies = [step for step in steps if any("apply tfplan" in command for command in step["commands"])]
    # `envchain prod-aws cmd` has no `--` and no quoted command: nothing says where its command starts, so
    # that one run keeps its own line; the `--` and the quoted launcher join the bare runs.
    assert len(applies) == 1 or all("envchain" in " ".join(step["commands"]) for step in applies[1:]), applies
    assert applies[0]["support"]["runs"] >= 5, applies[0]


def test_a_launcher_whose_inner_command_nobody_ran_bare_is_left_alone() -> None:
    from runbook_synth.align import launcher_aliases
    from runbook_synth.models import CommandRun, Provenance

    def run(*commands: str) -> list[CommandRun]:
        return [CommandRun(command, Provenance("note.md", line)) for line, command in enumerate(commands, 1)]

    runs = [run("kubectl exec -it api-0 -- sh", "ls"), run("aws-env prod -- make release", "make release")]
    assert launcher_aliases(runs) == {"aws-env prod -- make release": "make release"}


def test_a_command_seen_twice_between_different_neighbours_is_not_a_step() -> None:
    base = [0, 1, 2, 3, 4, 5]
    runs = [list(base) for _ in range(10)]
    runs[2] = [0, 1, 7, 2, 3, 4, 5]  # typed between 1 and 2 ...
    runs[6] = [0, 1, 2, 3, 4, 7, 5]  # ... and between 4 and 5: looking around
    runs[3] = [0, 1, 2, 8, 3, 4, 5]  # an optional step: between 2 and 3 both times
    runs[8] = [0, 1, 2, 8, 3, 4, 5]
    found = roaming_keys(runs)
    assert 7 in found and 8 not in found


def test_a_scope_written_as_one_word_in_the_commands_beats_its_words_scattered(tmp_path: Path) -> None:
    for index in range(3):
        note(
            tmp_path,
            f"2026-08-0{index + 1}",
            f"portal-{index}",
            f"Portal slots ({index})",
            "swapped",
            [
                "az webapp deployment slot list --name portal --resource-group rg-portal -o table",
                "az webapp deployment slot swap --name portal --resource-group rg-portal --slot staging",
                "curl -fsS https://portal.acme.test/health",
            ],
        )
        note(
            tmp_path,
            f"2026-09-0{index + 1}",
            f"fleet-{index}",
            f"Fleet push ({index})",
            "pushed",
            [
                "ansible-playbook -i hosts site.yml --limit web --tags app --check",
                "ansible-playbook -i hosts site.yml --limit web --tags app",
            ],
        )
    result = CliRunner().invoke(
        app, ["generate", "deployment", "web app", "--root", str(tmp_path), "--stdout", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    commands = " ".join(command for step in json.loads(result.stdout)["steps"] for command in step["commands"])
    assert "az webapp" in commands and "ansible-playbook" not in commands


def _generate(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--root", str(root), "--stdout", "--format", "json"])
    return result.exit_code, result.stdout, result.stderr


SITE_RELEASE = [
    "npm ci",
    "npm run build",
    "rsync -az --delete public/ deploy@web1.internal:/srv/www/site/",
    "curl -fsSI https://www.example.org/",
]
SITE_WORDS = [
    ("hotfix for the pricing page, incident follow-up", "customer saw old prices"),
    ("migrated the docs site to the new theme", "after the review"),
    ("scaled back the banner experiment on the site", "marketing asked"),
    ("pushed the landing page", "friday"),
]


def test_a_type_nothing_vouches_for_is_taken_as_the_type_asked_for_with_a_warning(tmp_path: Path) -> None:
    """Notes that call one procedure three things, commands that name no type: asked for a deployment of
    the site, the runs are the deployment (said in a warning), not "found 0 deployments"."""
    for index in range(8):
        title, sentence = SITE_WORDS[index % 4]
        note(tmp_path, f"2026-0{index % 9 + 1}-1{index}", f"site-{index}", title, sentence, SITE_RELEASE)
    code, out, err = _generate(tmp_path, "deployment", "site")
    assert code == 0, err
    runbook = json.loads(out)
    assert runbook["run_count"] == 8
    assert [step["commands"][0] for step in runbook["steps"]][:2] == ["npm ci", "npm run build"]
    assert any("No run was recorded as deployment" in warning for warning in runbook["warnings"])


def test_a_roll_forward_is_a_deployment(tmp_path: Path) -> None:
    for index in range(4):
        title = "rolled the docs site forward" if index % 2 else "Rolling the site forward to the new build"
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"site-{index}", title, "after the review", SITE_RELEASE)
    found = patterns(tmp_path)
    assert {kind for kind, _ in found} == {"deployment"} and sum(found.values()) == 4, found


def test_a_type_most_notes_agree_on_is_not_overruled_by_the_request(tmp_path: Path) -> None:
    for index in range(6):
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"site-{index}", "rolled back the site", "bad css", SITE_RELEASE)
    code, _, err = _generate(tmp_path, "deployment", "site")
    assert code == 1 and "6 rollback" in err


ROLLOUT_UNDO = [
    "kubectl config use-context prod-eu",
    "kubectl rollout history deployment/cart -n shop",
    "kubectl rollout undo deployment/cart -n shop --to-revision={n}",
    "kubectl rollout status deployment/cart -n shop --timeout=300s",
    "kubectl get pods -n shop -l app=cart",
]
UNDO_WORDS = [
    "cart incident: back to revision {n}",
    "redeployed cart at revision {n} after the pager",
    "cart outage, went back to {n}",
]


def test_a_rollback_group_is_scoped_by_its_component_not_by_its_incident_wording(tmp_path: Path) -> None:
    """Runs whose words alone made them incidents ("cart incident: back to revision 41") carry a symptom
    label; in a group the commands make a rollback (`kubectl rollout undo`) they are scoped as the others."""
    for index in range(6):
        n = str(40 + index)
        commands = [command.replace("{n}", n) for command in ROLLOUT_UNDO]
        title = UNDO_WORDS[index % 3].format(n=n)
        slug = ("cart-incident-revision", "cart-redeploy", "cart-outage-revision")[index % 3]
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"{slug}-{index}", title, "pager went off", commands)
    found = patterns(tmp_path)
    assert found == {("rollback", "kubernetes"): 6}, found


DRAIN = [
    "aws sqs get-queue-attributes --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/invoices "
    "--attribute-names ApproximateNumberOfMessages",
    "aws ecs update-service --cluster prod --service invoice-worker --desired-count {n}",
    "aws ecs wait services-stable --cluster prod --services invoice-worker",
]
DRAIN_WORDS = ["invoices piling up: {n} workers now", "backlog of invoices again", "paged, bumped workers to {n}"]


def test_a_scope_each_of_whose_words_some_runs_say_finds_their_group(tmp_path: Path) -> None:
    """No run says "queue backlog" whole: some say backlog, the commands say --queue-url. Between them the
    runs hold every word, so the scope finds the group."""
    for index in range(6):
        n = str(4 + index)
        commands = [command.replace("{n}", n) for command in DRAIN]
        title = DRAIN_WORDS[index % 3].format(n=n)
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"invoices-{index}", title, "incident", commands)
    code, out, err = _generate(tmp_path, "incident-response", "queue backlog")
    assert code == 0, err
    assert json.loads(out)["run_count"] == 6


RARE_WORDS = [
    "invoice workers up to {n}, lag was bad",
    "paged again, bumped workers to {n}",
    "ecs invoice-worker desired {n}",
    "bumped invoice-worker ({n})",
    "workers -> {n}; the backlog cleared in 20 min",
    "worker count {n} after the page",
    "invoice-worker to {n}",
    "more workers ({n})",
]


def test_the_one_group_whose_runs_say_every_word_of_a_scope_is_found_however_few_say_the_rarest(
    tmp_path: Path,
) -> None:
    """One note in eight says "backlog", every command says the queue: the share of the rarer word is below
    what a scope spread over several groups needs, but no other group's runs say both words at all."""
    for index in range(8):
        n = str(4 + index)
        commands = [command.replace("{n}", n) for command in DRAIN]
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"invoices-{index}", RARE_WORDS[index].format(n=n), "", commands)
    for index in range(4):
        title, sentence = SITE_WORDS[index % len(SITE_WORDS)]
        note(tmp_path, f"2026-0{index + 1}-2{index}", f"site-{index}", title, sentence, SITE_RELEASE)
    code, out, err = _generate(tmp_path, "incident-response", "queue backlog")
    assert code == 0, err
    runbook = json.loads(out)
    assert runbook["run_count"] == 8
    assert all(source.split("/")[-1].split("-", 3)[-1].startswith("invoices") for source in runbook["sources"])


FLYWAY = [
    "flyway -configFiles=conf/prod.conf info",
    "flyway -configFiles=conf/prod.conf -outOfOrder=false migrate",
    "psql \"$DB_URL\" -c 'select version from flyway_schema_history order by installed_rank desc limit 1'",
]
STUCK = """---
title: flyway migrate timeout on prod
category: error
date: 2026-07-02
---

# flyway migrate timeout on prod

## What happened
`ERROR: canceling statement due to lock timeout` about 40s in.

## Cause
a vacuum on invoices held the lock

## Fix
```bash
psql "$DB_URL" -c "select pg_cancel_backend(pid) from pg_stat_activity where query like 'autovacuum%'"
```
"""


def test_a_journal_whose_words_name_no_run_joins_the_group_whose_command_it_names(tmp_path: Path) -> None:
    """ "flyway migrate timeout on prod" reads as an incident (timeout) scoped by its own words, a label no
    run has; the `flyway migrate` it names is what one group's runs do, so the migration runbook has it."""
    for index in range(5):
        note(tmp_path, f"2026-0{index + 1}-0{index + 1}", f"db-{index}", f"schema v{index + 40}", "", FLYWAY)
    journal = tmp_path / ".claude" / "journals" / "error" / "2026-07-02-flyway-stuck.md"
    journal.parent.mkdir(parents=True)
    journal.write_text(STUCK, encoding="utf-8")
    code, out, err = _generate(tmp_path, "migration", "")
    assert code == 0, err
    cited = [source for entry in json.loads(out)["troubleshooting"] for source in entry["sources"]]
    assert any("2026-07-02-flyway-stuck.md" in source for source in cited), cited


NOMAD_RELEASE = [
    "nomad job validate jobs/web.nomad.hcl",
    "nomad job plan -var image_tag={v} jobs/web.nomad.hcl",
    "nomad job run -var image_tag={v} jobs/web.nomad.hcl",
    "nomad job status -short web",
    "curl -fsS https://web.acme.test/health",
]


def test_runs_that_start_their_commands_through_a_launcher_group_with_those_that_do_not(tmp_path: Path) -> None:
    """Half the runs ran the nomad commands through `infisical run --env=prod --` (a launcher src/ does not
    know) and call the work an incident; they are the same procedure as the bare runs, not another pattern."""
    for index in range(6):
        version = f"1.{index}.0"
        commands = [command.replace("{v}", version) for command in NOMAD_RELEASE]
        if index % 2:
            commands = [f"infisical run --env=prod -- {c}" if c.startswith("nomad") else c for c in commands]
            title, sentence = f"incident: web {version} out to stop the 500s", "paged at 2am"
        else:
            title, sentence = f"shipped web {version} to the nomad cluster", "routine"
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"web-{index}", title, sentence, commands)
    found = patterns(tmp_path)
    assert sorted(found.values()) == [6], found


CERT_ROTATION = [
    "step ca certificate api.acme.test api.crt api.key --provisioner acme",
    "kubectl -n edge create secret tls api-tls --cert=api.crt --key=api.key --dry-run=client -o yaml",
    "kubectl -n edge apply -f api-tls.yaml",
    "openssl s_client -connect api.acme.test:443 -servername api.acme.test",
]
SETUP = ["step ca bootstrap --ca-url https://ca.acme.test", "step ca health", "kubectl config use-context edge-prod"]


def test_runs_worded_as_another_type_that_did_every_core_command_and_more_join_the_procedure(tmp_path: Path) -> None:
    """Two runs called migrations did all four commands of the three others plus three setup commands; the
    extras make their vectors unalike, but leaving nothing out they are the same procedure."""
    for index in range(5):
        migrated = index >= 3
        commands = SETUP + CERT_ROTATION if migrated else CERT_ROTATION
        title = "migrated api tls to the new CA" if migrated else "deployed the renewed api tls certificate"
        note(tmp_path, f"2026-0{index + 1}-1{index}", f"api-tls-{index}", title, "expiring in 9 days", commands)
    found = patterns(tmp_path)
    assert sorted(found.values()) == [5], found


SYMLINK_SWITCH = [
    "ls -1 /srv/shop/releases | tail -3",
    "ln -sfn /srv/shop/releases/{r} /srv/shop/current",
    "readlink /srv/shop/current",
    "curl -fsS http://localhost:8080/health",
]


def test_a_command_type_only_a_few_runs_name_does_not_vouch_for_the_group(tmp_path: Path) -> None:
    """One run in four also restarted the service (`systemctl restart`, an incident's verb); that does not
    make the procedure an incident, so asked for the shop's rollback the runs are taken as it."""
    for index in range(4):
        commands = [command.replace("{r}", f"2026091{index}") for command in SYMLINK_SWITCH]
        if index == 0:
            commands.insert(3, "sudo systemctl restart shop")
        note(
            tmp_path, f"2026-0{index + 1}-1{index}", f"shop-{index}", "shop switched to the older bits", "ok", commands
        )
    code, out, err = _generate(tmp_path, "rollback", "shop")
    assert code == 0, err
    assert json.loads(out)["run_count"] == 4


def test_a_launcher_that_quotes_a_continued_command_runs_the_joined_command() -> None:
    from runbook_synth.shell import launched

    text = "sops exec-env secrets.enc.env 'az webapp deployment slot swap --name portal \\\n  --slot staging'"
    assert launched(text) == "az webapp deployment slot swap --name portal --slot staging"


def test_a_step_between_the_same_two_steps_is_a_step_however_far_stray_commands_move_it() -> None:
    """Key 6 (reload the load balancer, in 4 runs of 6) sits between the status check (4) and the health
    check (5) in two runs and swapped with the status check in two; stray commands (3, 7) and an optional
    first step (2) move its relative place by more than a step's usual spread."""
    sequences = [[2, 3, 0, 0, 4, 5], [2, 0, 0, 4, 5], [2, 0, 0, 4, 6, 5], [0, 7, 0, 6, 4, 5], [0, 0, 6, 4, 5]]
    sequences.append([2, 0, 0, 4, 6, 5])
    assert 6 not in roaming_keys(sequences)


def observe_run(root: Path, day: str, title: str, calls: list[tuple[str, str]]) -> None:
    """An /observe execution note: each call's command and output."""
    folder = root / ".claude" / "observations" / day
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join(
        f"### Bash - 10:0{i}:00\n**Input**:\n```bash\n{command}\n```\n**Output**:\n```\n{output}\n```\n"
        f"**Duration**: 2s\n\n"
        for i, (command, output) in enumerate(calls)
    )
    text = f"---\nmode: execution\ndate: {day}\ncontext: {title}\ntags: []\n---\n\n# {title}\n\n## Tool Calls\n\n{body}"
    (folder / f"execution-{day}.md").write_text(text, encoding="utf-8")


HELD = """---
title: stuck behind a held lock
category: error
date: 2026-07-09
---

# stuck behind a held lock

## Symptoms
```
Error submitting job: Unexpected response code: 409 (evaluation 7f3c2a91 blocked by a running deployment)
```

## Fix
```bash
sleep 60
```
"""


def test_a_journal_whose_words_and_commands_name_no_group_joins_the_one_whose_runs_printed_its_error(
    tmp_path: Path,
) -> None:
    """The journal names neither the job nor `nomad job`; the 409 it quotes is what one run's `nomad job run`
    printed, so it is one of that procedure's lessons."""
    for index in range(4):
        run = f"nomad job run -var image_tag=1.{index}.0 jobs/web.nomad.hcl"
        calls = [("nomad job plan jobs/web.nomad.hcl", '+/- Job: "web"'), (run, "==> Monitoring evaluation")]
        if index == 2:
            error = "Error submitting job: Unexpected response code: 409 (evaluation 1b2d4e6f blocked by a running deployment)"
            calls.insert(1, (run, error))
        calls.append(("curl -fsS https://web.acme.test/health", "ok"))
        observe_run(tmp_path, f"2026-0{index + 1}-1{index}", f"shipped web 1.{index}.0 to the nomad cluster", calls)
    journal = tmp_path / ".claude" / "journals" / "error" / "2026-07-09-held-lock.md"
    journal.parent.mkdir(parents=True)
    journal.write_text(HELD, encoding="utf-8")
    code, out, err = _generate(tmp_path, "deployment", "")
    assert code == 0, err
    cited = [source for entry in json.loads(out)["troubleshooting"] for source in entry["sources"]]
    assert any("2026-07-09-held-lock.md" in source for source in cited), cited
