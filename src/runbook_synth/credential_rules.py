"""Which command-line programs take a secret in which flag or argument: the table redact.py applies.

Kept as data so teaching redaction a new CLI is one line. A rule names the program (with its subcommand
words, `"az login"`), the flag (`"-p"`, `"--body"`) and how the value is written (`ValueForm`). Flags
are matched exactly and case-sensitively (`sqlcmd -P` is a password, `sqlcmd -p` prints statistics;
`redis-cli -p` is a port, `-a` the password), and only after the program's subcommand words on the same
command (`docker run -p 8080:80` is never a `docker login`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from runbook_synth.memo import IdentityCache

__all__ = [
    "CREDENTIAL_RULES",
    "CredentialKind",
    "CredentialRule",
    "CredentialSpan",
    "ValueForm",
    "credential_spans",
    "programs",
]


class ValueForm(enum.StrEnum):
    """How a flag carries its value."""

    NEXT = "next"
    """The next word (`-a VALUE`); a `--long` flag also as `--long=VALUE`."""
    GLUED = "glued"
    """Attached only (`-pVALUE`): a bare `-p` prompts, so the next word is not the value (mysql, 7z)."""
    EITHER = "either"
    """Attached or the next word (`-pVALUE` or `-p VALUE`)."""
    LAST_ARGUMENT = "last_argument"
    """The last positional argument; `flag`, when set, is a short option that must be present (htpasswd -b)."""


class CredentialKind(enum.StrEnum):
    """The placeholder a masked value becomes (`{password}`), so commands keep their shape."""

    PASSWORD = "password"
    PASSPHRASE = "passphrase"
    TOKEN = "token"
    VAULT_TOKEN = "vault_token"
    SECRET = "secret"


@dataclass(frozen=True)
class CredentialRule:
    """One program's secret-bearing flag or argument.

    `after`: only what follows this separator in the value is secret (`user:pass`, `user%pass`); a value
    without it is a user name and stays. `prefix`: the value must start with this literal, which is kept
    (openssl `pass:`; `env:VAR` and `file:path` name where the secret is). `min_arguments`: for
    LAST_ARGUMENT, how many positional arguments there must be (user and password: 2). `key_values`: for
    LAST_ARGUMENT, a `name=value` argument is an option, not the value (`vault login -method=userpass
    username=ops password=...`, left to the name rules).
    """

    program: str
    flag: str
    form: ValueForm
    kind: CredentialKind = CredentialKind.PASSWORD
    after: str = ""
    prefix: str = ""
    min_arguments: int = 1
    key_values: bool = False


_N, _G, _E, _L = ValueForm.NEXT, ValueForm.GLUED, ValueForm.EITHER, ValueForm.LAST_ARGUMENT
_PHRASE, _TOKEN, _SECRET = CredentialKind.PASSPHRASE, CredentialKind.TOKEN, CredentialKind.SECRET
_MYSQL = ("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlshow", "mysqlpump", "mysqlsh")
_MARIADB = ("mariadb", "mariadb-dump", "mariadb-admin")
_REGISTRY_LOGIN = ("docker login", "podman login", "buildah login", "skopeo login", "oras login", "nerdctl login")
_MONGO = ("mongosh", "mongo", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat", "mongotop")
_KEYTOOL_FLAGS = ("-storepass", "-keypass", "-srcstorepass", "-deststorepass", "-srckeypass", "-destkeypass")
_OPENSSL_PASS = ("-pass", "-passin", "-passout", "-password")
_SAMBA = ("smbclient", "rpcclient", "smbcacls", "smbget", "net")
_LDAP = ("ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldappasswd", "ldapwhoami")

CREDENTIAL_RULES: tuple[CredentialRule, ...] = (
    *(CredentialRule(program, "-p", _G) for program in (*_MYSQL, *_MARIADB)),
    *(CredentialRule(program, "-p", _N) for program in (*_REGISTRY_LOGIN, "helm registry login")),
    CredentialRule("sshpass", "-p", _E),
    CredentialRule("redis-cli", "-a", _N),
    *(CredentialRule(program, "-p", _N) for program in _MONGO),
    CredentialRule("az login", "-p", _N),
    *(CredentialRule(program, "-P", _N) for program in ("sqlcmd", "bcp", "osql")),
    CredentialRule("htpasswd", "-b", _L, min_arguments=2),
    *(CredentialRule(program, "-U", _N, after="%") for program in _SAMBA),
    *(CredentialRule(program, "--user", _N, after="%") for program in _SAMBA),
    CredentialRule("vault login", "", _L, CredentialKind.VAULT_TOKEN, key_values=True),
    *(CredentialRule(tool, flag, _N) for tool in ("keytool", "jarsigner") for flag in _KEYTOOL_FLAGS),
    *(CredentialRule("openssl", flag, _N, prefix="pass:") for flag in _OPENSSL_PASS),
    CredentialRule("openssl", "-k", _N),
    CredentialRule("zip", "-P", _N),
    CredentialRule("unzip", "-P", _N),
    *(CredentialRule(program, "-p", _G) for program in ("7z", "7za", "7zz", "7zr", "rar", "unrar")),
    CredentialRule("ssh-keygen", "-N", _N, _PHRASE),
    CredentialRule("ssh-keygen", "-P", _N, _PHRASE),
    CredentialRule("gh secret set", "--body", _N, _SECRET),
    CredentialRule("gh secret set", "-b", _E, _SECRET),
    CredentialRule("aws ssm put-parameter", "--value", _N, _SECRET),
    CredentialRule("curl", "--oauth2-bearer", _N, _TOKEN),
    CredentialRule("curl", "-u", _E, after=":"),
    CredentialRule("curl", "--user", _N, after=":"),
    CredentialRule("curl", "-U", _E, after=":"),
    CredentialRule("curl", "--proxy-user", _N, after=":"),
    *(CredentialRule("skopeo", flag, _N, after=":") for flag in ("--creds", "--src-creds", "--dest-creds")),
    *(CredentialRule(tool, "--creds", _N, after=":") for tool in ("podman", "buildah")),
    *(CredentialRule(program, "-w", _N) for program in _LDAP),
    CredentialRule("rabbitmqctl add_user", "", _L, min_arguments=2),
    CredentialRule("rabbitmqctl change_password", "", _L, min_arguments=2),
    CredentialRule("lftp", "-u", _N, after=","),
)
"""Every rule redact.py applies to command lines, on one line or joined across `\\` continuations."""


@dataclass(frozen=True)
class CredentialSpan:
    """Where a rule found a value in the scanned text (quotes, `user:` and `pass:` left outside)."""

    start: int
    end: int
    kind: CredentialKind


# Shell words, roughly: quoted strings, escapes, operators, plain runs, blanks. Unclosed quotes run to the end.
_SHELL_PIECE = re.compile(r"""'[^'\n]*'?|"(?:[^"\\\n]|\\.)*"?|\\.?|[|;&`()<>]|[^\s'"\\|;&`()<>]+|\s+""")
_OPERATORS = frozenset("|;&`()<>")
_MAX_DEPTH = 2


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    text: str
    quoted: tuple[tuple[int, int], ...]
    """(start, end) of the inside of each quoted piece, where a nested command (`bash -c "..."`) may be."""


def _commands(line: str, offset: int) -> Iterator[list[_Word]]:
    """The simple commands of one line: words split at blanks, cut at operators (`|`, `;`, `&&`, `>`, backticks).

    A `#` that starts a word starts a comment. `2>` loses its `2`, so it is not taken for an argument.
    """
    words: list[_Word] = []
    parts: list[str] = []
    quoted: list[tuple[int, int]] = []
    start = -1
    for piece in _SHELL_PIECE.finditer(line):
        text = piece.group()
        if text[0].isspace() or text in _OPERATORS:
            if parts:
                words.append(_Word(offset + start, offset + piece.start(), "".join(parts), tuple(quoted)))
                start, parts, quoted = -1, [], []
            if text in _OPERATORS:
                if text in "<>" and words and words[-1].end == offset + piece.start() and words[-1].text.isdigit():
                    words.pop()
                if words:
                    yield words
                words = []
            continue
        if not parts:
            if text.startswith("#"):
                break
            start = piece.start()
        if text[0] in "'\"" and len(text) > 2:
            quoted.append((offset + piece.start() + 1, offset + piece.end() - 1))
        parts.append(text)
    if parts:
        words.append(_Word(offset + start, offset + len(line), "".join(parts), tuple(quoted)))
    if words:
        yield words


def _unquoted(word: str) -> str:
    return word.replace("'", "").replace('"', "")


def _program(word: str) -> str:
    """`/usr/bin/mysql`, `"MySQL.exe"` -> `mysql`."""
    name = _unquoted(word).rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower()
    return name[:-4] if name.endswith(".exe") else name


_Table = dict[str, tuple[tuple[tuple[str, ...], CredentialRule], ...]]


def _by_program(rules: tuple[CredentialRule, ...]) -> _Table:
    """Rules keyed by program name, each with its subcommand words; looked up by the tuple's identity first
    (it is asked for on every command line, and hashing every rule each time was a sixth of parsing)."""
    return _TABLES(rules)


@lru_cache(maxsize=16)
def _program_table(rules: tuple[CredentialRule, ...]) -> _Table:
    table: dict[str, list[tuple[tuple[str, ...], CredentialRule]]] = {}
    for rule in rules:
        program, *subcommands = rule.program.split()
        table.setdefault(program.lower(), []).append((tuple(subcommands), rule))
    return {program: tuple(entries) for program, entries in table.items()}


_TABLES: IdentityCache[tuple[CredentialRule, ...], _Table] = IdentityCache(_program_table)


def programs(rules: tuple[CredentialRule, ...] = CREDENTIAL_RULES) -> tuple[str, ...]:
    """The program names the rules know, lowercase: a line that names none of them needs no parsing."""
    return tuple(sorted(_by_program(rules)))


def _after_subcommands(words: list[_Word], first: int, subcommands: tuple[str, ...]) -> int | None:
    """Index of the first word after the subcommand words (in order, global flags between allowed)."""
    position = first + 1
    for subcommand in subcommands:
        while position < len(words) and _unquoted(words[position].text) != subcommand:
            position += 1
        if position == len(words):
            return None
        position += 1
    return position


def _peel(line: str, offset: int, start: int, end: int) -> tuple[int, int]:
    """A value without the quotes around it (`'pa ss'` -> `pa ss`)."""
    raw = line[start - offset : end - offset]
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return start + 1, end - 1
    return start, end


def _value(rule: CredentialRule, line: str, offset: int, start: int, end: int, separate: bool) -> CredentialSpan | None:
    """The secret part of a flag's value, after quotes, `prefix` and `after` are peeled."""
    start, end = _peel(line, offset, start, end)
    value = line[start - offset : end - offset]
    if separate and (value.startswith("-") or "://" in value):
        return None
    if rule.prefix:
        if not value.startswith(rule.prefix):
            return None
        start += len(rule.prefix)
    if rule.after:
        cut = line.find(rule.after, start - offset, end - offset)
        if cut < 0:
            return None
        start = offset + cut + len(rule.after)
    start, end = _peel(line, offset, start, end)
    return CredentialSpan(start, end, rule.kind) if end > start else None


def _flag_values(rule: CredentialRule, line: str, offset: int, args: list[_Word]) -> Iterator[CredentialSpan]:
    """Values of `rule.flag` among a command's arguments."""
    flag, form = rule.flag, rule.form
    for i, word in enumerate(args):
        text = word.text
        if text == flag and form in (ValueForm.NEXT, ValueForm.EITHER) and i + 1 < len(args):
            span = _value(rule, line, offset, args[i + 1].start, args[i + 1].end, True)
        elif flag.startswith("--") and text.startswith(flag + "="):
            span = _value(rule, line, offset, word.start + len(flag) + 1, word.end, False)
        elif form in (ValueForm.GLUED, ValueForm.EITHER) and len(text) > len(flag) and text.startswith(flag):
            span = _value(rule, line, offset, word.start + len(flag), word.end, False)
        else:
            continue
        if span is not None:
            yield span


_LONG_FLAG = re.compile(r"--?[a-z][a-z0-9-]{3,}")


def _flag_value(args: list[_Word], i: int) -> bool:
    """Whether args[i] follows a long flag (`--name`, or vault's `-address`) without `=`: likely its value.

    Short option clusters (`-nbB`, `-bc`) take no value here, so htpasswd's arguments still count.
    """
    return i > 0 and _LONG_FLAG.fullmatch(args[i - 1].text) is not None


def _last_argument(rule: CredentialRule, line: str, offset: int, args: list[_Word]) -> Iterator[CredentialSpan]:
    """The last positional argument, when the command has enough of them (and the required short option)."""
    if rule.flag:
        letter = rule.flag.lstrip("-")
        if not any(w.text.startswith("-") and not w.text.startswith("--") and letter in w.text[1:] for w in args):
            return
    positional = [w for i, w in enumerate(args) if not w.text.startswith("-") and not _flag_value(args, i)]
    if len(positional) < rule.min_arguments or (rule.key_values and "=" in positional[-1].text):
        return
    span = _value(rule, line, offset, positional[-1].start, positional[-1].end, True)
    if span is not None:
        yield span


def credential_spans(
    line: str, offset: int = 0, rules: tuple[CredentialRule, ...] = CREDENTIAL_RULES, depth: int = 0
) -> Iterator[CredentialSpan]:
    """Every value the rules find in one command line (offsets shifted by `offset`), nested commands too.

    The line is one logical line: `\\` continuations must already be joined. Quoted strings that hold a
    command (`bash -c "mysql -p..."`, a JSON `"cmd": "docker login -p ..."`) are searched as well.
    """
    table = _by_program(rules)
    for words in _commands(line, offset):
        for first, word in enumerate(words):
            for subcommands, rule in table.get(_program(word.text), ()):
                position = _after_subcommands(words, first, subcommands)
                if position is None:
                    continue
                args = words[position:]
                if rule.form is ValueForm.LAST_ARGUMENT:
                    yield from _last_argument(rule, line, offset, args)
                else:
                    yield from _flag_values(rule, line, offset, args)
        if depth < _MAX_DEPTH:
            for word in words:
                for start, end in word.quoted:
                    inner = line[start - offset : end - offset]
                    if " " in inner:
                        yield from credential_spans(inner, start, rules, depth + 1)
