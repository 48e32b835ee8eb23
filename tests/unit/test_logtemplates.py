"""The template miner: the hard cases Loghub-2k taught us, pinned as literal lines."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_synth.logtemplates import (
    DEFAULT_MASKS,
    LogTemplate,
    Mask,
    TemplateMiner,
    mine_templates,
)


def groups(lines: Sequence[str]) -> list[int]:
    return mine_templates(lines)[0]


def texts(lines: Sequence[str]) -> list[str]:
    return [t.template for t in mine_templates(lines)[1]]


def test_numbers_ips_and_block_ids_vary_within_one_template() -> None:
    lines = [
        "Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010",
        "Receiving block blk_7503483334202473044 src: /10.251.215.16:55695 dest: /10.251.215.16:50010",
    ]
    ids, templates = mine_templates(lines)
    assert ids == [0, 0]
    assert templates == (LogTemplate(0, "Receiving block <*> src: <*> dest: <*>", 2),)


def test_words_without_digits_become_variables_when_many_differ() -> None:
    users = ["admin", "user", "test", "oracle", "admin", "support"]
    lines = [f"Invalid user {u} from 10.0.0.{i}" for i, u in enumerate(users)]
    assert groups(lines) == [0] * 6
    assert texts(lines) == ["Invalid user <*> from <*>"]


def test_a_few_different_words_are_different_events() -> None:
    # Below four distinct words, a slot's words are constants: OpenStack's VM lifecycle events.
    lines = [
        f"[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM {s} (Lifecycle Event)"
        for s in ["Started", "Paused", "Stopped", "Started"]
    ]
    assert groups(lines) == [0, 1, 2, 0]
    # Punctuation around a variable folds into it: "<uuid>]" is one variable.
    assert texts(lines)[0] == "[instance: <*> VM Started (Lifecycle Event)"


def test_all_caps_states_are_constants_however_many() -> None:
    pairs = [
        ("NEW", "UNASSIGNED"),
        ("UNASSIGNED", "ASSIGNED"),
        ("ASSIGNED", "RUNNING"),
        ("RUNNING", "SUCCESS_CONTAINER_CLEANUP"),
        ("SUCCESS_CONTAINER_CLEANUP", "SUCCEEDED"),
        ("NEW", "UNASSIGNED"),
    ]
    lines = [
        f"attempt_1445144423722_0020_m_00000{i}_0 TaskAttempt Transitioned from {a} to {b}"
        for i, (a, b) in enumerate(pairs)
    ]
    assert groups(lines) == [0, 1, 2, 3, 4, 0]
    assert texts(lines)[0] == "<*> TaskAttempt Transitioned from NEW to UNASSIGNED"


def test_first_word_names_the_event() -> None:
    lines = [
        "cupsd startup succeeded",
        "syslogd startup succeeded",
        "klogd startup succeeded",
        "portmap startup succeeded",
    ]
    assert groups(lines) == [0, 1, 2, 3]


def test_key_value_values_vary_and_empty_values_differ() -> None:
    line = "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost={}  user={}"
    lines = [
        line.format("220-135-151-1.hinet-ip.hinet.net", "root"),
        line.format("211.46.224.253", "guest"),
        line.format("csnsu.nsuok.edu", "root"),
        line.format("61.53.154.93", "root"),
        "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4",
        "authentication failure; logname= uid=0 euid=0 tty=:0 ruser= rhost=",
    ]
    ids, templates = mine_templates(lines)
    # rhost varies (digits or not); user has only two values here, so root and guest are two events.
    assert ids == [0, 1, 0, 0, 2, 3]
    assert templates[0].template == (
        "authentication failure; logname= uid=<*> euid=<*> tty=NODEVssh ruser= rhost=<*> user=root"
    )


def test_shape_around_a_number_is_kept() -> None:
    lines = [
        "session opened for user cyrus by (uid=0)",
        "session opened for user root by LOGIN(uid=0)",
        "session opened for user news by (uid=0)",
    ]
    assert groups(lines)[1] != groups(lines)[0]


def test_optional_and_multi_word_values_do_not_change_the_event() -> None:
    # Proxifier: sizes with and without "(1.69 KB)", lifetimes "00:01" and "<1 sec".
    lines = [
        "proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent, 0 bytes received, lifetime 00:01",
        "www.googleapis.com:443 close, 1733 bytes (1.69 KB) sent, 1288 bytes (1.25 KB) received, lifetime 04:00",
        "block.dropbox.com:443 close, 0 bytes sent, 0 bytes received, lifetime <1 sec",
        "proxy.cse.cuhk.edu.hk:5070 close, 403 bytes sent, 4096 bytes (4.00 KB) received, lifetime 00:02",
    ]
    assert groups(lines) == [0, 0, 0, 0]
    assert texts(lines) == ["<*> close, <*> sent, <*> received, lifetime <*>"]


def test_timestamps_and_empty_brackets_are_one_variable() -> None:
    lines = [
        "connection from 222.33.90.199 (222.33.90.199) at Sun Jul 10 03:55:15 2005",
        "connection from 24.54.76.216 (24-54-76-216.bflony.adelphia.net) at Sat Jun 18 02:08:10 2005",
        "connection from 211.57.88.250 () at Mon Jun 20 09:39:16 2005",
    ]
    assert groups(lines) == [0, 0, 0]
    assert texts(lines) == ["connection from <*> at <*>"]


def test_paths_with_or_without_digits_and_query_strings_are_variables() -> None:
    lines = [
        '10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" '
        "status: 200 len: 1893 time: 0.24",
        '10.11.21.122,10.11.10.1 "GET /openstack/latest/meta_data.json HTTP/1.1" status: 200 len: 157 time: 0.0008',
        '10.11.10.1 "GET /v2/54fa/servers/detail?all_tenants=True&changes-since=2017-05-16T00%3A01 HTTP/1.1" '
        "status: 200 len: 1893 time: 0.2",
        '10.11.10.1 "POST /v2/e9746973ac574c6b8a9e8857f56a7608/os-server-external-events HTTP/1.1" '
        "status: 200 len: 380 time: 0.09",
    ]
    assert groups(lines) == [0, 0, 0, 1]
    assert texts(lines) == [
        '<*> "GET <*> status: <*> len: <*> time: <*>',
        '<*> "POST <*> status: <*> len: <*> time: <*>',
    ]


def test_booleans_are_variables() -> None:
    lines = [
        "updateClipping isOverlap:false, clipTopAmount:0",
        "updateClipping isOverlap:true, clipTopAmount:12",
    ]
    assert groups(lines) == [0, 0]


def test_masks_are_named_and_replaceable() -> None:
    assert [m.name for m in DEFAULT_MASKS] == ["URL", "PATH", "HOST", "HEX", "BOOL"]
    lines = ["state is ok now", "state is bad now", "state is ugly now"]
    assert groups(lines) == [0, 1, 2]
    masks = (*DEFAULT_MASKS, Mask("HEALTH", r"^(?:ok|bad|ugly)$"))
    ids, templates = mine_templates(lines, masks=masks)
    assert ids == [0, 0, 0]
    assert templates[0].template == "state is <*> now"


def test_template_ids_follow_first_appearance() -> None:
    lines = ["b happened 1", "a happened", "b happened 2"]
    ids, templates = mine_templates(lines)
    assert ids == [0, 1, 0]
    assert [(t.template_id, t.size) for t in templates] == [(0, 2), (1, 1)]


def test_miner_accumulates_and_answers_over_all_lines() -> None:
    miner = TemplateMiner()
    numbers = [miner.add(f"Invalid user {u} from 10.0.0.1") for u in ["admin", "root", "guest"]]
    assert numbers == [0, 1, 2]
    assert len(miner.templates()) == 3  # three users: still three events
    miner.add("Invalid user oracle from 10.0.0.2")
    assert miner.template_ids() == (0, 0, 0, 0)  # the fourth makes the slot a variable
    assert miner.template_id(3) == 0
    assert miner.templates() == (LogTemplate(0, "Invalid user <*> from <*>", 4),)


def test_odd_input_is_just_lines() -> None:
    lines = ["", "   ", "\x00", "a" * 100_000, "\x00\x01 <*> <*> =", "k=v=w", "=", "()"]
    ids, templates = mine_templates(lines)
    assert len(ids) == len(lines)
    assert ids[0] == ids[1]
    assert sum(t.size for t in templates) == len(lines)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=30), st.integers(min_value=1, max_value=6))
def test_never_raises_and_is_deterministic(lines: list[str], min_distinct: int) -> None:
    first = mine_templates(lines, variable_min_distinct=min_distinct)
    again = mine_templates(list(lines), variable_min_distinct=min_distinct)
    assert first == again
    ids, templates = first
    assert len(ids) == len(lines)
    assert sorted(set(ids)) == list(range(len(templates)))
    assert sum(t.size for t in templates) == len(lines)
