from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_synth.classify import classify, scope_similarity
from runbook_synth.cluster import merge_free_text_scopes
from runbook_synth.models import CommandRun, Observation, Provenance, SourceKind, resolve_type


def obs(
    path: str,
    tags: tuple[str, ...] = (),
    context: str = "",
    commands: tuple[str, ...] = (),
    kind: SourceKind = SourceKind.EXECUTION,
) -> Observation:
    return Observation(
        path=path,
        kind=kind,
        tags=tags,
        context=context,
        commands=tuple(CommandRun(c, Provenance(path, 1)) for c in commands),
    )


def test_tags_decide_type_and_component() -> None:
    found = classify(obs("o/2026-09-01/execution-1-x.md", ("deployment", "lambda")))
    assert (found.operation_type, found.scope) == ("deployment", "lambda")


def test_rollback_wins_over_deploy_in_the_file_name() -> None:
    found = classify(obs("o/2026-09-01/execution-101500-rollback-lambda-deployment.md"))
    assert (found.operation_type, found.scope) == ("rollback", "lambda")


def test_commands_decide_when_nothing_is_stated() -> None:
    found = classify(obs("o/note.md", commands=("alembic upgrade head", "psql -c 'select 1'")))
    assert (found.operation_type, found.scope) == ("migration", "database")


def test_incidents_are_scoped_by_their_symptom() -> None:
    found = classify(
        obs(
            "o/failure-1-x.md",
            ("incident", "api-timeout", "lambda"),
            "504s on /reports",
            kind=SourceKind.FAILURE,
        )
    )
    assert (found.operation_type, found.scope) == ("incident-response", "api timeout")


def test_a_flag_or_a_value_names_no_type() -> None:
    """A bug hunt whose words name no type and whose commands bounce the workers with
    `--force-new-deployment` was a deployment by the substring; what the commands run (`aws ecs
    update-service`, `psql`) names none, so the failure note is an incident."""
    hunt = obs(
        "o/bug-hunts/2026-09-24-orders-backlog-db-connections.md",
        context="orders backlog, workers alive but not consuming",
        commands=(
            "aws ecs describe-services --cluster orders-prod --services orders-worker",
            'psql "$ADMIN_URL" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"',
            "aws ecs update-service --cluster orders-prod --service orders-worker --force-new-deployment",
            "aws lambda invoke --function-name deploy-notifier out.json",
        ),
        kind=SourceKind.FAILURE,
    )
    assert classify(hunt).operation_type == "incident-response"
    rollout = obs("o/note.md", commands=("helm upgrade shop ./chart --wait", "kubectl rollout status deploy/shop"))
    assert classify(rollout).operation_type != "other"


def test_a_tag_that_only_says_how_the_work_came_in_is_no_symptom() -> None:
    """`oncall` (or `incident`, `pager`) says who was paged, not what broke: the symptom comes from
    elsewhere, a tag such as `db-timeout` still names one."""
    paged = obs(
        "o/2026-09-11/failure-031744-orders-queue-backlog.md",
        ("sqs", "orders-worker", "oncall"),
        "orders queue backlog, paged at 3am",
        kind=SourceKind.FAILURE,
    )
    assert classify(paged).scope != "oncall"
    assert "orders" in classify(paged).scope
    timed_out = obs("o/failure-2-x.md", ("on-call", "db-timeout"), "checkout slow", kind=SourceKind.FAILURE)
    assert classify(timed_out).scope == "db timeout"


def test_free_text_scope_matches_by_similarity() -> None:
    incident = obs("o/x.md", ("incident", "api-timeout"), "API Gateway timeouts on /reports")
    migration = obs("o/y.md", ("migration", "aurora"), "Aurora schema change: add reports.status column")
    assert scope_similarity("API timeout", incident, classify(incident)) >= 0.8
    assert scope_similarity("API timeout", migration, classify(migration)) < 0.62
    assert scope_similarity("Aurora schema change", migration, classify(migration)) >= 0.8


def test_component_scope_needs_evidence() -> None:
    frontend = obs("o/x.md", ("deployment", "frontend"), commands=("aws s3 sync dist/ s3://b",))
    assert scope_similarity("lambda", frontend, classify(frontend)) == 0.0
    assert scope_similarity("frontend", frontend, classify(frontend)) == 1.0


def test_type_aliases() -> None:
    assert resolve_type("incident") == "incident-response"
    assert resolve_type("Backup") == "backup"


def test_free_text_scopes_merge_when_close() -> None:
    mapping = merge_free_text_scopes(["api timeout", "api timeout", "api timeouts", "disk full"])
    assert mapping["api timeouts"] == "api timeout" and mapping["disk full"] == "disk full"


def test_free_text_scope_merge_matches_scikit_learn_char_wb_tfidf() -> None:
    """The merge once ran scikit-learn (TfidfVectorizer char_wb 2-4, cosine average linkage at 0.55); the
    scipy version must group exactly as it did. Expected mapping recorded from scikit-learn 1.x."""
    labels = [
        "api timeout",
        "api timeouts on /reports",
        "API Timeouts",
        "disk full",
        "disk is full",
        "kafka lag",
        "kafka consumer lag",
        "a",
        "orders queue backlog",
        "queue backlog",
    ]
    assert merge_free_text_scopes(labels) == {
        "API Timeouts": "api timeout",
        "api timeout": "api timeout",
        "api timeouts on /reports": "api timeout",
        "a": "a",
        "disk full": "disk full",
        "disk is full": "disk full",
        "kafka consumer lag": "kafka lag",
        "kafka lag": "kafka lag",
        "orders queue backlog": "queue backlog",
        "queue backlog": "queue backlog",
    }


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="ab .-", max_size=30),
    st.lists(st.text(alphabet="ab .-", min_size=1, max_size=9).map(str.strip).filter(bool), max_size=8),
)
def test_keywords_counted_at_once_are_those_looked_for_one_by_one(text: str, keywords: list[str]) -> None:
    """component_scores counts every keyword of a component in one pass over a prepared text (a third faster);
    it must find exactly what `_has` finds keyword by keyword, long keywords without their spaces included."""
    from runbook_synth.classify import _has, _probes, _Text, words_of

    haystack = words_of(text)
    assert _Text(haystack).count(_probes(keywords)) == sum(_has(haystack, keyword) for keyword in keywords)
