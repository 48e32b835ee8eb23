import pytest

from runbook_synth.durations import find_prose_duration, parse_duration
from runbook_synth.render import format_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2.3s", 2.3),
        ("45 seconds", 45.0),
        ("1m 12s", 72.0),
        ("~3 min", 180.0),
        ("00:01:12", 72.0),
        ("2-3 minutes", 150.0),
        ("120ms", 0.12),
        ("1h 2m", 3720.0),
        ("**11m 40s**", 700.0),
    ],
)
def test_parse_duration_reads_the_forms_people_write(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "{if measurable}", "n/a", "unknown", "x" * 10_000])
def test_parse_duration_returns_none_without_a_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_prose_duration_finds_the_stated_time() -> None:
    assert find_prose_duration("Deployed report_worker again, took about 7 minutes end to end.") == 420.0
    assert find_prose_duration("Nothing timed here.") is None


def test_format_duration_is_short() -> None:
    assert [format_duration(v) for v in (0.4, 45, 200, 4000, None)] == [
        "0.4s",
        "45s",
        "3m 20s",
        "1h 06m",
        "unknown",
    ]
