"""The cache by identity that the redaction and credential rules are looked up with on every line."""

from __future__ import annotations

from runbook_synth.memo import IdentityCache


def test_a_value_is_made_once_per_object_and_never_for_another_object() -> None:
    made: list[tuple[str, ...]] = []

    def make(rules: tuple[str, ...]) -> int:
        made.append(rules)
        return len(made)

    cache: IdentityCache[tuple[str, ...], int] = IdentityCache(make, size=2)
    first = ("a", "b")
    assert cache(first) == cache(first) == 1
    other = tuple(["a", "b"])  # equal, but another object: its own entry
    assert other is not first and cache(other) == 2
    assert cache(("c",)) == 3  # past the size the cache starts again
    assert cache(first) == 4 and len(made) == 4
