"""Secret redaction: the one stage every ingestor runs on a source's raw text before anything parses it.

Secrets are replaced in place by a named placeholder (`{aws_access_key_id}`, `{password}`, ...) so the
surrounding command keeps its shape and still aligns with other runs of it; no line is ever added, dropped
or split. Findings name the path, the 1-based line and the kind, never the value.

Our own detections, run first, in this priority order (an earlier claim on a span wins):

1. private key blocks (PEM/OpenSSH/PGP, multi-line or on one line with `\\n` escapes; PuTTY
   `Private-Lines`): BEGIN/END lines stay, body lines become `{private_key}`;
2. the user's `extra_patterns`;
3. token formats: AWS key ids, AWS secret keys and session tokens after their names, GitHub (`gh?_`,
   `github_pat_`), GitLab (`glpat-`, ...), Slack tokens and webhooks (host kept), Discord webhooks, JWTs,
   Stripe, OpenAI, Anthropic, Google API keys, npm, SendGrid, PyPI, Hugging Face, Docker Hub, Telegram bots,
   Vault (`hvs.`/`hvb.`/`hvr.`), Langfuse (`sk-lf-`/`pk-lf-`), GitHub Actions `::add-mask::` values;
4. `Authorization:` headers (Bearer/Basic/token/...; the scheme is kept; a non-breaking space counts);
5. passwords in URLs (`scheme://user:{password}@host`, `/` and `@` allowed in the password, a port is not);
6. `--flag value` / `--flag=value` whose flag names a secret (`--password`, `--api-key`, ...);
7. the credential flags of known programs, as data in credential_rules.py (`mysql -p...`, `docker login
   -p`, `redis-cli -a`, `keytool -storepass`, `htpasswd -b`'s last argument, `smbclient -U user%...`,
   `curl -u user:...`, ...): each line that names a program is split into shell words, so flags count only
   after their program and subcommand on the same command (never `docker run -p 80:80`, `ssh -p 22`);
8. shapes of CLI output and documents: docker `"auth"` and `.dockerconfigjson`; a `value` whose sibling
   `name` says secret (SSM parameters, terraform outputs, ECS/k8s env lists; SecureString and sensitive
   values whatever their name); table cells right of a secret-named cell (markdown, doppler's box tables);
   `java -D...password=`; YAML values behind `!!str`/`!tag`/`&anchor` (not behind reference tags like
   `!Ref`/`!secret`) and values that YAML would take for a tag (`password: !S3cret`); `Key    Value` rows
   (vault kv get); `- Secret Key: value` bullets and `**Password**:` labels;
9. values of variables and keys whose names say secret (shell, env, YAML, JSON, ini, HCL, connection
   strings, headers inside `curl -H`, `.netrc`).

Commands written over `\\` (or PowerShell `` ` ``) continuation lines are also searched joined into one
line, with the continuation marks blanked so offsets stay those of the text; redacting the pipeline's joined
command text again is just as safe. `redact_path` applies the same rules to a file name.

Name rules for 6, 8 and 9: the last word of the name decides. password/passwd/passphrase/pwd/pass/secret/
token/credential(s)/sig/apikey, and `key` qualified by api/secret/access/private/account/... are *strong*:
any value is masked unless it is a placeholder (`{x}`, `${X}`, `$X`, `<x>`, `***`, REDACTED), empty, a
plain word like true/false/null/none/yes/no, a path or a key file name. A bare or unqualified `key` (and
`auth`, `signature`) is *ambiguous*: masked only when the value is high-entropy (Shannon entropy of a
base64/hex string of 20+ chars, not a UUID, not a sha256 digest, not a slug of words), so `--key
'{"LockID":...}'`, `KeyName: web`, `primary_key: id` and S3 object keys stay. Names ending in id, name,
type, arn, file, url, ... (`aws_access_key_id`, `secret_name`, `token_type`) are not secrets; pagination
tokens (`NextToken`) are not either.

detect-secrets is a second opinion, run on our output with a restricted plugin list (AWS, GitHub, GitLab,
Slack, JWT, basic auth, Stripe, Twilio, SendGrid, npm, Azure storage, Discord, OpenAI, Mailchimp, PyPI,
Telegram, Square): whatever it still flags is masked as `{kind}` named after the plugin. Its default
plugins (entropy, keyword) flag almost everything, so they are not used. It only adds to our findings; in
practice it catches Twilio, Mailchimp, Square and Discord bot tokens, which we do not look for ourselves.

Known gaps: passwords given on stdin or in a prompt; flags of programs not in the table whose names do not
say secret (`tool -x S3cret`); cookies (`Cookie:`/`Set-Cookie:` session ids); YAML
block scalars (`password: |`) other than private keys; quoted values that contain their own quote
character; unquoted values longer than 4 KiB are masked only up to 4 KiB; secrets in positions no rule
knows (a bare high-entropy word on its own is left alone, so digests and ids survive).
"""

from __future__ import annotations

import importlib
import itertools
import logging
import math
import re
import string
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runbook_synth.credential_rules import CREDENTIAL_RULES, CredentialRule, credential_spans, programs
from runbook_synth.errors import ConfigError
from runbook_synth.memo import IdentityCache
from runbook_synth.models import RedactionFinding

__all__ = ["RedactedText", "RedactionRules", "redact_path", "redact_text"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RedactionRules:
    """What the user adds: extra (kind, regex) patterns, literal values never masked, and the second opinion.

    In an extra pattern, the group named `secret` is masked if present, else the whole match.
    """

    extra_patterns: tuple[tuple[str, str], ...] = ()
    allowlist: tuple[str, ...] = ()
    use_detect_secrets: bool = True
    credential_rules: tuple[CredentialRule, ...] = CREDENTIAL_RULES
    """Which program flags carry secrets (credential_rules.py); pass a longer tuple to teach it a new CLI."""


@dataclass(frozen=True)
class RedactedText:
    """The text with every secret replaced by `{kind}`, and where each one was (never what it was)."""

    text: str
    findings: tuple[RedactionFinding, ...]


# A claim on text[start:end]: masked as {kind}; `report` False for the continuation lines of one key block.
_Span = tuple[int, int, str, bool]

# Every character str.splitlines() breaks on: no secret span may contain one, so line counts never change.
_NL = "\\n\\r\\x0b\\x0c\\x1c-\\x1e\\x85\\u2028\\u2029"
_LINE_PIECE = re.compile(f"[^{_NL}]+")
_TOKEN_START = r"(?<![A-Za-z0-9_\-])"
_TOKEN_END = r"(?![A-Za-z0-9_\-])"


# ---------------------------------------------------------------------------------------------------------
# Value judgement: placeholders, trivial words, paths, entropy.

_TRIVIAL = frozenset(
    {
        "true",
        "false",
        "null",
        "none",
        "nil",
        "yes",
        "no",
        "on",
        "off",
        "undefined",
        "empty",
        "required",
        "optional",
        "n/a",
        "na",
        "redacted",
        "[redacted]",
        "masked",
        "hidden",
        "secret",
        "password",
        "token",
        "string",
    }
)
_MASK_RUN = re.compile(r"[*xX•.#_\-]{3,}")
_REFERENCE_PREFIXES = ("arn:", "sha256:", "sha1:", "sha512:", "file://", "fileb://", "-----BEGIN", "$(")
_PATH = re.compile(
    r"(?:~|\.{1,2})?/[\w.@\-]*(?:/[\w.@\-]*)*|[\w.\-]+\.(?:pem|key|pub|crt|cer|p12|pfx|ppk|jks"
    r"|keystore|json|ya?ml|txt|env|gpg|asc|ini|cfg|conf)"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_B64 = re.compile(r"[A-Za-z0-9+/=_\-]+")
_SLUG_PART = re.compile(r"[A-Za-z][a-z]{0,15}|[A-Z]{1,6}|[0-9]{1,8}|v?[0-9][0-9.]{0,10}")
_SLUG_SPLIT = re.compile(r"[-_./:]+")


def _is_placeholder(value: str) -> bool:
    """Templates, references and already-masked values: masking them again would hide nothing."""
    v = value.strip()
    if not v or v.lower() in _TRIVIAL:
        return True
    if v[0] in "{$<%" or v.startswith(_REFERENCE_PREFIXES):
        return True
    return "***" in v or "REDACTED" in v.upper() or _MASK_RUN.fullmatch(v) is not None


def _looks_like_path(value: str) -> bool:
    """A file reference (`~/.ssh/id_rsa`, `./key.pem`, `/etc/app/db.pass`) names where a secret is, not it."""
    if _PATH.fullmatch(value) is None:
        return False
    return value.count("/") >= 2 or "." in value or value.startswith(("~", "."))


def _shannon(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _is_slug(value: str) -> bool:
    """Words joined by separators (`my-deploy-bucket-2024`, `reports/2024/q1`): names, not keys."""
    parts = [p for p in _SLUG_SPLIT.split(value) if p]
    return len(parts) >= 2 and all(_SLUG_PART.fullmatch(p) for p in parts)


def _high_entropy(value: str) -> bool:
    """A random-looking base64/hex string of 20+ chars; UUIDs, digests and word slugs are not."""
    if len(value) < 20 or _UUID.fullmatch(value) or value.startswith(("sha256:", "sha1:", "sha512:")):
        return False
    if _HEX.fullmatch(value):
        return _shannon(value) >= 3.0
    if _B64.fullmatch(value) is None or _is_slug(value):
        return False
    letters = any(c.isalpha() for c in value)
    digits_or_symbols = any(c.isdigit() or c in "+/=" for c in value)
    mixed_case = value.lower() != value and value.upper() != value
    return letters and (digits_or_symbols or mixed_case) and _shannon(value) >= 3.5


# ---------------------------------------------------------------------------------------------------------
# Names: which variable, key or flag names hold secrets, and the placeholder named after them.

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_SECRETISH = re.compile(r"(?i)pass|pwd|secret|token|key|cred|pat|auth|sig|psk")
_STRONG_SUFFIXES = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
)
_STRONG_WORDS = frozenset({"pwd", "pass", "pat", "psk", "sig"})
_AMBIGUOUS_WORDS = frozenset({"key", "auth", "signature"})
_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "secret",
        "access",
        "private",
        "encryption",
        "decryption",
        "signing",
        "master",
        "account",
        "client",
        "app",
        "application",
        "shared",
        "service",
        "session",
        "hmac",
        "license",
        "storage",
        "subscription",
        "sas",
        "crypto",
        "jwt",
        "webhook",
        "deploy",
        "admin",
        "root",
        "consumer",
        "encrypt",
        "cipher",
        "aes",
    }
)
_NOT_SECRET_TOKEN_QUALIFIERS = frozenset(
    {
        "next",
        "continuation",
        "page",
        "pagination",
        "paging",
        "cancellation",
        "idempotency",
        "request",
        "resume",
    }
)
_PASSWORD_FAMILY = ("password", "passwd", "passphrase", "passcode", "pwd", "pass")


def _snake(name: str) -> str:
    """`SecretAccessKey` -> `secret_access_key`, `x-api-key` -> `x_api_key`: the placeholder's name."""
    s = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", name))
    return _NON_ALNUM.sub("_", s).strip("_").lower()[:64] or "secret"


def _strength(words: list[str]) -> int:
    """2 when the name says secret, 1 when it may (a bare `key`), 0 when it does not."""
    if not words or any(w in ("public", "pub") for w in words):
        return 0
    last = words[-1]
    if last.endswith("token") and len(words) > 1 and words[-2] in _NOT_SECRET_TOKEN_QUALIFIERS:
        return 0
    if last in _STRONG_WORDS or last.endswith(_STRONG_SUFFIXES):
        return 2
    if words[-2:] in (["secret", "string"], ["secret", "value"]) or words[-3:] == ["secret", "key", "base"]:
        return 2
    if last.endswith("key") and last[:-3] in _KEY_QUALIFIERS:
        return 2
    if last == "key":
        return 2 if any(w in _KEY_QUALIFIERS for w in words[:-1]) else 1
    return 1 if last in _AMBIGUOUS_WORDS else 0


@lru_cache(maxsize=4096)
def _classify(name: str) -> tuple[int, str]:
    """(strength, kind) of a variable, key or flag name."""
    kind = _snake(name)
    return _strength(kind.split("_")), kind


def _value_ok(value: str, strength: int, kind: str) -> bool:
    """Whether a value in a secret-named position is itself worth masking."""
    if _is_placeholder(value) or _looks_like_path(value):
        return False
    if strength == 1:
        return _high_entropy(value)
    return not (value.isdigit() and len(value) < 6 and not kind.endswith(_PASSWORD_FAMILY))


# ---------------------------------------------------------------------------------------------------------
# Finders: each yields the spans it would mask, in the text's own coordinates.

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_SECRETISH_WORDS = ("pass", "pwd", "secret", "token", "key", "cred", "pat", "auth", "sig", "psk")


class _Doc:
    """The text being redacted, with views the rules share: a lowered copy and the lines near given words.

    Running every regex over every byte costs ~30 ms per rule on 2 MB; most rules only need the few lines
    that mention their words, so each rule searches those lines (merged into blocks) and nothing else.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._lower: str | None = None
        self._blocks: dict[tuple[str, ...], list[tuple[int, int]]] = {}

    @property
    def lower(self) -> str:
        """ASCII-lowered, so offsets match the text (str.lower can change the length of some letters)."""
        if self._lower is None:
            self._lower = self.text.translate(_ASCII_LOWER)
        return self._lower

    def blocks_near(self, words: tuple[str, ...]) -> list[tuple[int, int]]:
        """(start, end) of runs of whole lines that contain one of the lowercase `words`, merged."""
        if words not in self._blocks:
            lower, text = self.lower, self.text
            hits: list[int] = []
            for word in words:
                pos = lower.find(word)
                while pos >= 0:
                    hits.append(pos)
                    pos = lower.find(word, pos + 1)
            blocks: list[tuple[int, int]] = []
            for pos in sorted(hits):
                if blocks and pos <= blocks[-1][1]:
                    continue
                start, end = _line_bounds(text, pos)
                if blocks and start <= blocks[-1][1] + 1:
                    blocks[-1] = (blocks[-1][0], end)
                else:
                    blocks.append((start, end))
            self._blocks[words] = blocks
        return self._blocks[words]


_Finder = Callable[[_Doc], Iterator[_Span]]


def _secret_span(match: re.Match[str]) -> tuple[int, int] | None:
    """The first group named secret* that took part, else the whole match; None when empty."""
    names = [n for n in match.re.groupindex if n.startswith("secret")]
    if not names:
        start, end = match.span()
        return (start, end) if end > start else None
    for name in names:
        start, end = match.span(name)
        if start >= 0 and end > start:
            return start, end
    return None


_NOT_FLAG_PREFIXES = frozenset(
    {"no", "ask", "prompt", "show", "skip", "use", "with", "without", "require", "disable", "enable"}
    | {"generate", "reset", "rotate", "print", "read", "allow", "force", "from"}
)


def _accept_named(name: str, value: str, flag: bool) -> bool:
    """Whether `value`, found under the variable, key or flag `name`, is a secret to mask."""
    if _SECRETISH.search(name) is None:
        return False
    strength, kind = _classify(name)
    if not strength or (flag and (kind.split("_")[0] in _NOT_FLAG_PREFIXES or value.startswith("-"))):
        return False
    return _value_ok(value, strength, kind)


@dataclass(frozen=True)
class _Rule:
    """One regex: `kind` fixed, or (when empty) named after the `name` group and judged by its name.

    `triggers`: case-sensitive literals, the rule runs only when one occurs in the text. `near`: lowercase
    words, the rule searches only the lines that contain one. `check`: a last word on a fixed-kind value.
    """

    pattern: re.Pattern[str]
    kind: str = ""
    triggers: tuple[str, ...] = ()
    near: tuple[str, ...] = ()
    check: Callable[[str], bool] | None = None
    flag: bool = False

    def _accept(self, match: re.Match[str], value: str) -> bool:
        if self.kind:
            return self.check is None or self.check(value)
        return _accept_named(match.group("name"), value, self.flag)

    def __call__(self, doc: _Doc) -> Iterator[_Span]:
        text = doc.text
        if self.triggers and not any(literal in text for literal in self.triggers):
            return
        blocks = doc.blocks_near(self.near) if self.near else [(0, len(text))]
        for low, high in blocks:
            yield from self._scan(text, low, high)

    def _scan(self, text: str, pos: int, high: int) -> Iterator[_Span]:
        """Accepted matches in text[pos:high].

        After a rejection the search resumes inside the rejected value, so a key nested in it (a JSON
        string holding `\\\\"password\\\\":\\\\"...\\\\"`) is still found; after a match it resumes past it.
        """
        while pos <= high:
            match = self.pattern.search(text, pos, high)
            if match is None:
                return
            span = _secret_span(match)
            if span is not None and self._accept(match, text[span[0] : span[1]]):
                yield span[0], span[1], self.kind or _classify(match.group("name"))[1], True
                pos = match.end()
            else:
                pos = span[0] + 1 if span is not None and span[0] > match.start() else match.start() + 1


def _rule(
    kind: str,
    pattern: str,
    *,
    flags: int = 0,
    triggers: tuple[str, ...] = (),
    near: tuple[str, ...] = (),
    check: Callable[[str], bool] | None = None,
) -> _Rule:
    return _Rule(re.compile(pattern, flags), kind, triggers, near, check)


def _named(pattern: str, flags: int = 0, flag: bool = False, triggers: tuple[str, ...] = ()) -> _Rule:
    return _Rule(re.compile(pattern, flags), "", triggers, _SECRETISH_WORDS, None, flag)


def _token(prefix: str, rest: str, word: str = r"[A-Za-z0-9_\-]") -> str:
    """`prefix` (fixed width) not preceded by a token character, then `rest`.

    The boundary is checked after the literal prefix, not before it, so the regex engine can jump from
    prefix to prefix, and a long run like `eyJeyJeyJ...` is tried once, not at every offset.
    """
    return f"{prefix}(?<!{word}{prefix}){rest}"


_PK_BEGIN = re.compile(r"-{4,5} ?BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PK_END = re.compile(r"-{4,5} ?END (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PK_BODY = re.compile(r"[ \t]*(?:[A-Za-z0-9+/=]{16,}|[A-Za-z][A-Za-z\-]{1,30}: [^\n]*|=[A-Za-z0-9+/]{4})[ \t\r]*")
_PK_STRIP = " \t\r\"',;"  # with literal \n escapes, peeled from the ends of a one-line body
_PK_TAIL = re.compile(r"[A-Za-z0-9+/=\\ \t]{16,}")
_PUTTY_LINES = re.compile(r"^Private-Lines: ?([0-9]{1,3})[ \t\r]*$", re.M)
_PK_WINDOW = 256 * 1024
_PK_MAX_LINES = 400


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, (len(text) if end < 0 else end)


def _content(text: str, start: int, end: int, strip: str = " \t\r") -> tuple[int, int] | None:
    """text[start:end] without the given characters at either end; None when nothing is left."""
    while start < end and text[start] in strip:
        start += 1
    while end > start and text[end - 1] in strip:
        end -= 1
    if end <= start or text[start:end] == "{private_key}":
        return None
    return start, end


def _strip_escapes(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Like _content, but also peels literal `\\n`/`\\r` escapes, as in a JSON `private_key` value."""
    while True:
        span = _content(text, start, end, _PK_STRIP)
        if span is None:
            return None
        start, end = span
        s = text[start:end]
        if s.startswith(("\\n", "\\r")):
            start += 2
        elif s.endswith(("\\n", "\\r")):
            end -= 2
        else:
            return span


def _body_lines(text: str, start: int, stop: int) -> Iterator[tuple[int, int]]:
    """The non-blank content of each line in text[start:stop], indentation kept outside."""
    while start < stop:
        line_end = text.find("\n", start, stop)
        line_end = stop if line_end < 0 else line_end
        span = _content(text, start, line_end)
        if span is not None:
            yield span
        start = line_end + 1


def _unterminated_stop(text: str, line_end: int) -> int:
    """Where a key body with no END marker ends: after the last line that still looks like key data."""
    stop, pos, blanks = line_end, line_end + 1, 0
    for _ in range(_PK_MAX_LINES):
        if pos > len(text):
            break
        nxt = text.find("\n", pos)
        nxt = len(text) if nxt < 0 else nxt
        line = text[pos:nxt]
        if not line.strip():
            blanks += 1
            if blanks > 1:
                break
        elif _PK_BODY.fullmatch(line):
            blanks, stop = 0, nxt
        else:
            break
        pos = nxt + 1
    return stop


def _key_block(text: str, begin: re.Match[str]) -> tuple[list[tuple[int, int]], int]:
    """The body spans of the key whose BEGIN marker is `begin`, and where the block ends."""
    _, line_end = _line_bounds(text, begin.end())
    inline_end = _PK_END.search(text, begin.end(), line_end)
    if inline_end is not None:
        span = _strip_escapes(text, begin.end(), inline_end.start())
        return ([span] if span is not None else []), inline_end.end()
    spans: list[tuple[int, int]] = []
    tail = _strip_escapes(text, begin.end(), line_end)
    if tail is not None and _PK_TAIL.fullmatch(text, tail[0], tail[1]):
        spans.append(tail)
    end = _PK_END.search(text, line_end, min(len(text), line_end + _PK_WINDOW))
    if end is None:
        stop = _unterminated_stop(text, line_end)
        spans.extend(_body_lines(text, line_end + 1, stop))
        return spans, stop
    end_line_start, _ = _line_bounds(text, end.start())
    if end_line_start > line_end:
        spans.extend(_body_lines(text, line_end + 1, end_line_start - 1))
        before_end = _content(text, end_line_start, end.start())
        if before_end is not None:
            spans.append(before_end)
    return spans, end.end()


def _private_keys(doc: _Doc) -> Iterator[_Span]:
    """Key bodies between BEGIN and END markers (kept), line by line; one finding per key.

    With no END marker, the body ends at the last line that still looks like key data.
    """
    text = doc.text
    if "PRIVATE KEY" not in text and "Private-Lines" not in text:
        return
    done = 0
    for begin in _PK_BEGIN.finditer(text):
        if begin.start() < done:
            continue
        spans, done = _key_block(text, begin)
        for i, (start, end) in enumerate(spans):
            yield start, end, "private_key", i == 0
    for putty in _PUTTY_LINES.finditer(text):
        _, line_end = _line_bounds(text, putty.start())
        stop = line_end
        for _ in range(int(putty.group(1))):
            nxt = text.find("\n", stop + 1)
            stop = len(text) if nxt < 0 else nxt
            if nxt < 0:
                break
        for i, (start, end) in enumerate(_body_lines(text, line_end + 1, stop)):
            yield start, end, "private_key", i == 0


# Value shapes. dq/sq: quoted (escapes allowed in double quotes); esc: inside an escaped JSON string.
_DQ = rf'"(?P<secret>(?:[^"\\{_NL}]|\\[^{_NL}]){{1,4096}}+)"'
_SQ = rf"'(?P<secret2>[^'{_NL}]{{1,4096}}+)'"
_ESC = rf'\\"(?P<secret3>[^"\\{_NL}]{{1,4096}}+)\\"'
_QUOTED = f"(?:{_DQ}|{_SQ}|{_ESC})"
_NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,80}+)"
_ASSIGN_VALUE = rf"(?:{_QUOTED}|(?P<secret4>[^\s\"'`;&,(){{}}\[\]<>\\|]{{1,4096}}+)(?![\[(]))"
_COLON_VALUE = rf"(?:{_QUOTED}|(?P<secret4>[^\s\"'`{{}}\[\]&*!|>#,][^\s\"'`]{{0,4095}}+))"
_FLOW_VALUE = rf"(?:{_QUOTED}|(?P<secret4>[^\s\"'`,{{}}\[\]]{{1,4096}}+))"
_FLAG_VALUE = rf"(?:{_QUOTED}|(?P<secret4>[^\s\"'`;|&()<>\\]{{1,4096}}+))"
_KV_FIELD_VALUE = rf"(?:{_QUOTED}|(?P<secret4>[^\s\"'`,;{{}}\[\]()\\]{{1,4096}}+))"
_AUTH_NAME = r"(?i:(?<![A-Za-z0-9_\-])(?:proxy-)?authorization[\\\"']{0,2}[ \t\u00a0]*[:=][ \t\u00a0]*[\\\"']{0,2})"
# A YAML tag or anchor before a value (`!!str`, `!tag`, `&anchor`); reference tags (`!Ref Name`, Home
# Assistant's `!secret name`, `!env VAR`) point at a secret kept elsewhere, so what follows them is a name.
_REFERENCE_TAGS = (
    "Ref|Sub|GetAtt|ImportValue|FindInMap|Join|Select|Split|If|Base64|Cidr|GetAZs|Condition|Transform"
    "|secret|env|env_var|include|input|vault|reference|var|ssm|aws_ssm|sops"
)
_YAML_TAG = rf"(?:&[A-Za-z0-9_\-]{{1,64}}|!(?!(?:{_REFERENCE_TAGS})(?![^\s]))[A-Za-z0-9_!:/.\-]{{0,64}})"
_PORT_PATH = re.compile(r"[0-9]{1,5}(?:/|$)")


def _not_placeholder(value: str) -> bool:
    return not _is_placeholder(value)


def _url_password(value: str) -> bool:
    """`host:8443/x@y` matched as `user:password@`: a port then a path is not a password."""
    return not _is_placeholder(value) and _PORT_PATH.match(value) is None


_JSON_VALUE = re.compile(r'"(?:Value|value|SecretValue)"[ \t]*:[ \t]*"(?P<secret>(?:[^"\\\n]|\\[^\n]){1,4096}+)"')
_JSON_NAME = re.compile(
    r'"(?:Name|name|Key|key|ParameterName|SecretName|secretName|SecretId|OutputKey|Variable|variable)"'
    r'[ \t]*:[ \t]*"(?P<name>[^"\\\n]{1,256}+)"'
)
_JSON_SENSITIVE = re.compile(r'"(?:Type|type)"[ \t]*:[ \t]*"SecureString"|"sensitive"[ \t]*:[ \t]*true')
_JSON_PARENT = re.compile(r'"(?P<name>[^"\\\n]{1,128}+)"[ \t]*:[ \t]*$')
_YAML_NAME_VALUE = re.compile(
    r"^[ \t]*(?:-[ \t]+)?name:[ \t]*[\"']?(?P<name>[A-Za-z0-9_./:\-]{1,256}+)[\"']?[ \t]*\r?\n"
    r"[ \t]*value:[ \t]*" + _COLON_VALUE + r"(?=[ \t]*(?:#|\r|$))",
    re.MULTILINE,
)
_OBJECT_REACH = 4096


def _enclosing_object(text: str, pos: int) -> tuple[int, int]:
    """The `{...}` around pos (braces counted, strings not parsed: CLI output is regular enough)."""
    low, high = max(0, pos - _OBJECT_REACH), min(len(text), pos + _OBJECT_REACH)
    start, depth, i = low, 0, pos
    while True:
        opening, closing = text.rfind("{", low, i), text.rfind("}", low, i)
        if opening < 0:
            break
        if closing > opening:
            depth, i = depth + 1, closing
        elif depth == 0:
            start = opening
            break
        else:
            depth, i = depth - 1, opening
    end, depth, i = high, 0, pos
    while True:
        opening, closing = text.find("{", i, high), text.find("}", i, high)
        if closing < 0:
            break
        if 0 <= opening < closing:
            depth, i = depth + 1, opening + 1
        elif depth == 0:
            end = closing + 1
            break
        else:
            depth, i = depth - 1, closing + 1
    return start, end


def _entry_name(name: str) -> str:
    """`/prod/api/db_password` -> `db_password`: the last segment of a parameter path names the value."""
    return name.rstrip("/").rsplit("/", 1)[-1] or name


def _name_value_pairs(doc: _Doc) -> Iterator[_Span]:
    """A `value` whose sibling `name` says secret: SSM parameters, terraform outputs, ECS and k8s env lists.

    In JSON the sibling is any `Name`/`Key` field of the same object, or the key the object sits under
    (`"db_password": {"sensitive": true, "value": ...}`); a SecureString or a sensitive output is masked
    whatever its name. In YAML the `value:` line must follow its `- name:` line.
    """
    text = doc.text
    if '"value"' in doc.lower:
        for match in _JSON_VALUE.finditer(text):
            value_start, value_end = match.span("secret")
            value = text[value_start:value_end]
            if _is_placeholder(value):
                continue
            start, end = _enclosing_object(text, match.start())
            names = [_entry_name(m.group("name")) for m in _JSON_NAME.finditer(text, start, end)]
            parent = _JSON_PARENT.search(text[max(0, start - 256) : start])
            if parent is not None:
                names.append(parent.group("name"))
            kind = next((_classify(n)[1] for n in names if _accept_named(n, value, False)), "")
            if not kind and _JSON_SENSITIVE.search(text, start, end):
                kind = "secret"
            if kind:
                yield value_start, value_end, kind, True
    if "value:" in doc.lower:
        for low, high in doc.blocks_near(_SECRETISH_WORDS):
            _, high = _line_bounds(text, min(len(text), high + 1))
            for match in _YAML_NAME_VALUE.finditer(text, low, high):
                span = _secret_span(match)
                name = _entry_name(match.group("name"))
                if span is not None and _accept_named(name, text[span[0] : span[1]], False):
                    yield span[0], span[1], _classify(name)[1], True


_TABLE_ROW = re.compile(r"[ \t]*([|│┃║])")
_CELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .\-]{0,80}")
_CELL_TRIM = " \t\r`*\"'"


def _table_cells(doc: _Doc) -> Iterator[_Span]:
    """A cell right of a cell that names a secret, in markdown tables and box-drawn ones (doppler secrets).

    Only one-word values: a cell of prose (`| api_key | from the dashboard |`) is a description.
    """
    text = doc.text
    if not any(bar in text for bar in "|│┃║"):
        return
    for low, high in doc.blocks_near(_SECRETISH_WORDS):
        pos = low
        while pos <= high:
            end = text.find("\n", pos, high)
            end = high if end < 0 else end
            row = _TABLE_ROW.match(text, pos, end)
            if row is not None:
                yield from _row_cells(text, row.end(), end, row.group(1))
            pos = end + 1


def _row_cells(text: str, pos: int, end: int, bar: str) -> Iterator[_Span]:
    cells: list[tuple[int, int]] = []
    while pos < end:
        nxt = text.find(bar, pos, end)
        if nxt < 0:
            break
        cells.append((pos, nxt))
        pos = nxt + 1
    for (name_start, name_end), (value_start, value_end) in itertools.pairwise(cells):
        name = text[name_start:name_end].strip(_CELL_TRIM)
        span = _content(text, value_start, value_end, _CELL_TRIM)
        if span is None or _CELL_NAME.fullmatch(name) is None:
            continue
        value = text[span[0] : span[1]]
        if not any(c.isspace() for c in value) and _accept_named(name, value, False):
            yield span[0], span[1], _classify(name)[1], True


def _builtin_finders() -> tuple[_Finder, ...]:
    """Our rules, in priority order (see the module docstring)."""
    m = re.MULTILINE
    aws_assign = r"[\\\"']{0,2}[ \t]*(?:=>|=|:)?[ \t]*[\\\"']{0,2}"
    p = _not_placeholder
    return (
        _private_keys,
        # token formats
        _rule(
            "aws_access_key_id",
            _token("(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])", r"[A-Z0-9]{16}(?![A-Za-z0-9])", "[A-Za-z0-9]"),
            triggers=("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
        ),
        _rule(
            "aws_secret_access_key",
            r"(?i:(?<![A-Za-z0-9])(?:aws_?)?secret_?(?:access_?)?key)"
            + aws_assign
            + r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
            near=("secret",),
        ),
        _rule(
            "aws_session_token",
            r"(?i:(?<![A-Za-z0-9])(?:aws_?session_?token|aws_?security_?token|session_?token))"
            + aws_assign
            + r"(?P<secret>[A-Za-z0-9/+=]{16,8192}+)",
            near=("session_token", "sessiontoken", "security_token", "securitytoken"),
        ),
        _rule(
            "github_token",
            _token("gh", r"[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])")
            + "|"
            + _token("github_pat_", r"[A-Za-z0-9_]{40,251}(?![A-Za-z0-9_])"),
            triggers=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        ),
        _rule(
            "gitlab_token",
            _token("gl", r"(?:pat|dt|rt|cbt|ptt|oas|imt|ft|soat|agent|ffct|wt)-[A-Za-z0-9_\-]{20,1024}+")
            + "|"
            + _token("GR1348941", r"[A-Za-z0-9_\-]{20,64}+"),
            triggers=("gl", "GR1348941"),
        ),
        _rule(
            "slack_token",
            _token("x", r"(?:(?:oxe\.xox|ox)[abposre]-[A-Za-z0-9\-]{10,300}+|app-[0-9]-[A-Za-z0-9\-]{10,300}+)"),
            triggers=("xox", "xapp-"),
        ),
        _rule(
            "slack_webhook",
            r"(?i:hooks\.slack\.com/(?:services|workflows|triggers)/)"
            r"(?P<secret>[A-Za-z0-9_]{1,40}(?:/[A-Za-z0-9_]{1,100}){1,3}+)",
            near=("hooks.slack.com",),
        ),
        _rule(
            "discord_webhook",
            r"(?i:discord(?:app)?\.com/api/webhooks/)(?P<secret>[0-9]{5,30}/[A-Za-z0-9_\-]{20,100}+)",
            near=("discord",),
        ),
        _rule(
            "jwt",
            _token(
                "eyJ",
                r"[A-Za-z0-9_\-]{5,8192}+\.eyJ[A-Za-z0-9_\-]{1,16384}+(?:\.[A-Za-z0-9_\-]{0,8192}+){1,3}",
            ),
            triggers=("eyJ",),
        ),
        _rule(
            "stripe_key",
            _token("(?:sk|rk)_", r"(?:live|test)_[A-Za-z0-9]{16,247}+")
            + "|"
            + _token("whsec_", r"[A-Za-z0-9]{24,64}+"),
            triggers=("k_live_", "k_test_", "whsec_"),
        ),
        _rule(
            "anthropic_api_key",
            _token("sk-ant-", r"[a-z]{2,10}[0-9]{2}-[A-Za-z0-9_\-]{40,300}+"),
            triggers=("sk-ant-",),
        ),
        _rule(
            "openai_api_key",
            _token(
                "sk-",
                r"(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,300}+|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
            ),
            triggers=("sk-",),
        ),
        _rule("google_api_key", _token("AIza", r"[A-Za-z0-9_\-]{35}" + _TOKEN_END), triggers=("AIza",)),
        _rule("npm_token", _token("npm_", r"[A-Za-z0-9]{36}(?![A-Za-z0-9])"), triggers=("npm_",)),
        _rule(
            "sendgrid_api_key",
            _token(r"SG\.", r"[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}" + _TOKEN_END),
            triggers=("SG.",),
        ),
        _rule("pypi_token", _token("pypi-AgE", r"[A-Za-z0-9_\-]{50,400}+"), triggers=("pypi-AgE",)),
        _rule("huggingface_token", _token("hf_", r"[A-Za-z0-9]{34,40}(?![A-Za-z0-9])"), triggers=("hf_",)),
        _rule("docker_token", _token("dckr_pat_", r"[A-Za-z0-9_\-]{20,60}+"), triggers=("dckr_pat_",)),
        _rule("vault_token", _token(r"hv[sbr]\.", r"[A-Za-z0-9_\-]{24,1024}+"), triggers=("hvs.", "hvb.", "hvr.")),
        _rule("langfuse_secret_key", _token("sk-lf-", r"[A-Za-z0-9][A-Za-z0-9\-]{19,80}+"), triggers=("sk-lf-",)),
        _rule("langfuse_public_key", _token("pk-lf-", r"[A-Za-z0-9][A-Za-z0-9\-]{19,80}+"), triggers=("pk-lf-",)),
        _rule(
            "telegram_bot_token",
            r"(?<![A-Za-z0-9_:])[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}" + _TOKEN_END,
            near=(":aa",),
        ),
        _rule("secret", r"::add-mask::(?P<secret>[^\s\"']{1,4096}+)", triggers=("::add-mask::",), check=p),
        # headers
        _rule(
            "token",
            _AUTH_NAME
            + r"(?i:bearer|basic|token|bot|jwt|sso-key|api-?key)[ \t\u00a0]+(?P<secret>[^\s\"'\\,;]{1,8192}+)",
            near=("authorization",),
            check=p,
        ),
        _rule(
            "token",
            _AUTH_NAME + r"(?P<secret>[^\s\"'\\,;]{8,8192}+)(?=[\\\"',;]|[ \t]*(?:\r|$))",
            flags=m,
            near=("authorization",),
            check=p,
        ),
        # URLs: the password may hold `/`; `host:8443/path@x` is a port, not a password
        _rule(
            "password",
            r"://[^\s:/@\"'<>\\]{0,256}+:(?P<secret>[^\s\"'<>\\@]{1,1024}+(?:@[^\s\"'<>\\@]{1,1024}+)*?)"
            r"@(?=[^\s@/\"'<>\\]{0,256}+(?:[/\s\"'<>\\]|$))",
            near=("@",),
            check=_url_password,
        ),
        # a --flag that names a secret, before the command rules: `vault login --token s.x` is a {token}
        _named(_token("--", r"(?P<name>[A-Za-z][A-Za-z0-9_.\-]{0,60}+)(?:=|[ \t]+)" + _FLAG_VALUE), flag=True),
    )


def _structured_finders() -> tuple[_Finder, ...]:
    """Rules after the command lines: shapes of CLI output and documents, then flags and names."""
    m = re.MULTILINE
    return (
        # docker credentials: base64 `user:password`, or a whole base64 config
        _rule(
            "auth",
            r"(?P<q>\\?\")auth(?P=q)[ \t]*:[ \t]*(?P=q)(?P<secret>[A-Za-z0-9+/]{8,8192}+={0,2})(?P=q)",
            near=("auth",),
        ),
        _rule(
            "docker_config",
            r"\.docker(?:configjson|cfg)[\"']?[ \t]*[:=][ \t]*[\"']?(?P<secret>[A-Za-z0-9+/]{16,262144}+={0,2})",
            near=(".docker",),
        ),
        _name_value_pairs,
        _table_cells,
        # java -Dprop.password=..., YAML tags and anchors, `Key    Value` tables (vault kv get)
        _named(r"(?<![A-Za-z0-9_\-])-D" + _NAME + r"=" + _ASSIGN_VALUE, triggers=("-D",)),
        _named(
            r"^[ \t]*(?:[-*][ \t]+)?"
            + _NAME
            + r"[ \t]*:[ \t]*"
            + rf"(?:{_YAML_TAG}[ \t]+){{1,2}}"
            + _COLON_VALUE
            + r"(?=[ \t]*(?:#|\r|$))",
            m,
            triggers=("!", "&"),
        ),
        _named(
            r"^[ \t]*(?:[-*][ \t]+)?"
            + _NAME
            + r"[ \t]*:[ \t]*"
            + rf"(?P<secret>!(?!!)(?!(?:{_REFERENCE_TAGS})(?![^\s]))\S{{2,4095}}+)(?=[ \t]*(?:#|\r|$))",
            m,
            triggers=("!",),
        ),
        _named(
            r"^[ \t]*" + _NAME + r"[ \t]{2,}(?P<secret>[^\s\"'`]\S{0,4095}+)[ \t]*\r?$",
            m,
            triggers=("  ", "\t"),
        ),
        _named(
            r"^[ \t]*(?:(?:[-*+]|[0-9]{1,3}[.)])[ \t]+(?:\*\*|__)?|(?:\*\*|__))"
            r"(?P<name>[A-Za-z][A-Za-z0-9_.\-]{0,40}(?:[ \t][A-Za-z][A-Za-z0-9_.\-]{0,40}){0,3})"
            r"(?:\*\*|__)?[ \t]*:(?!:)(?:\*\*|__)?[ \t]*"
            r"(?:`(?P<secret5>[^`\n]{1,4096}+)`|" + _COLON_VALUE + r")(?=[ \t]*(?:\r|$))",
            m,
            triggers=("- ", "* ", "+ ", ". ", ") ", "**", "__", "-\t", "*\t"),
        ),
        _named(r"(?P<kq>\\?[\"'])" + _NAME + r"(?P=kq)[ \t]*(?::|=>|=)[ \t]*" + _KV_FIELD_VALUE),
        _named(r"(?<![A-Za-z0-9_.\-])" + _NAME + r"[ \t]*(?::=|=>|=(?!=))[ \t]*" + _ASSIGN_VALUE),
        _named(
            r"^[ \t]*(?:[-*][ \t]+)?(?:#[ \t]*)?"
            + _NAME
            + r"[ \t]*:(?!:)[ \t]*"
            + _COLON_VALUE
            + r"(?=[ \t]*(?:#|\r|$))",
            m,
        ),
        _named(
            r"(?<=[{,\"'])[ \t]*" + _NAME + r"[ \t]*:(?!:)[ \t]*" + _FLOW_VALUE + r"(?=[ \t]*(?:[\"'},]|\r|$))",
            m,
        ),
        _rule(
            "password",
            _TOKEN_START + r"machine[ \t]+\S{1,255}[ \t]+login[ \t]+\S{1,255}[ \t]+password[ \t]+"
            r"(?P<secret>\S{1,1024}+)",
            near=("machine",),
            check=_not_placeholder,
        ),
    )


_BUILTIN = _builtin_finders()
_STRUCTURED = _structured_finders()


@lru_cache(maxsize=256)
def _program_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """A lowercase program name standing as a word (`/usr/bin/mysql` and `mysql.exe` count)."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9_\-])(?:{alternatives})(?![a-z0-9_\-])")


# Shell punctuation around a program name (`$(mysql`, `"docker`, `a;curl`): blanked to find the words.
_AROUND_WORDS = str.maketrans({c: " " for c in "\"'`$(){}[];|&<>="})


def _programs_named(lower: str, names: frozenset[str]) -> tuple[str, ...]:
    """The names that stand as a word of the text (`/usr/bin/mysql`, `mysql.exe` count), in one pass."""
    words = set(lower.translate(_AROUND_WORDS).split())
    found = set(names.intersection(words))
    for word in words:
        if "/" in word or "\\" in word or word.endswith(".exe"):
            name = word.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].removesuffix(".exe")
            if name in names:
                found.add(name)
    return tuple(sorted(found))


@lru_cache(maxsize=8)
def _command_finder(rules: tuple[CredentialRule, ...]) -> _Finder:
    """Secrets in the flags and arguments credential_rules.py names, on each line that names a program."""
    names = frozenset(programs(rules))

    def find(doc: _Doc) -> Iterator[_Span]:
        text, lower, pos = doc.text, doc.lower, 0
        present = _programs_named(lower, names)
        if not present:
            return
        program = _program_pattern(present)
        while (match := program.search(lower, pos)) is not None:
            start, end = _line_bounds(text, match.start())
            for span in credential_spans(text[start:end], start, rules):
                if _value_ok(text[span.start : span.end], 2, span.kind):
                    yield span.start, span.end, str(span.kind), True
            pos = end + 1

    return find


@lru_cache(maxsize=32)
def _extra_finders(patterns: tuple[tuple[str, str], ...]) -> tuple[_Finder, ...]:
    """The user's patterns, compiled once; a bad regex is a ConfigError naming its kind."""
    finders = []
    for kind, pattern in patterns:
        try:
            finders.append(_rule(_snake(kind), pattern))
        except (re.error, TypeError, ValueError, OverflowError) as error:
            message = f"redact_patterns: '{kind}' is not a valid regular expression: {error}"
            raise ConfigError(message) from None
    return tuple(finders)


# ---------------------------------------------------------------------------------------------------------
# detect-secrets, the second opinion.

_DS_PLUGINS = (
    ("aws", "AWSKeyDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("slack", "SlackDetector"),
    ("jwt", "JwtTokenDetector"),
    ("basic_auth", "BasicAuthDetector"),
    ("stripe", "StripeDetector"),
    ("twilio", "TwilioKeyDetector"),
    ("sendgrid", "SendGridDetector"),
    ("npm", "NpmDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("openai", "OpenAIDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("square_oauth", "SquareOAuthDetector"),
)
_DS_KINDS = {
    "AWS Access Key": "aws_access_key",
    "Basic Auth Credentials": "password",
    "JSON Web Token": "jwt",
    "GitHub Token": "github_token",
    "GitLab Token": "gitlab_token",
    "NPM tokens": "npm_token",
    "OpenAI Token": "openai_api_key",
    "PyPI Token": "pypi_token",
    "SendGrid API Key": "sendgrid_api_key",
    "Stripe Access Key": "stripe_key",
    "Azure Storage Account access key": "azure_storage_key",
}
_DS_LONG_RUN = re.compile(r"(?<!\S)\S{513,}")
_DS_MIN_LENGTH = 8
_DS_WINDOW = 1024


@lru_cache(maxsize=1)
def _ds_plugins() -> tuple[tuple[Any, str], ...]:
    """(plugin, kind) for each restricted plugin this detect-secrets version has; () when it is missing.

    Cached, so a plugin that fails to load is reported once per process, not once per file.
    """
    found = []
    failed: list[str] = []
    for module, name in _DS_PLUGINS:
        try:
            plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)()
        except Exception as error:  # absent in this version, or detect-secrets not installed: the rest still work
            failed.append(f"{name} ({type(error).__name__}: {error})")
            continue
        secret_type = str(getattr(plugin, "secret_type", name))
        found.append((plugin, _DS_KINDS.get(secret_type, _snake(secret_type))))
    if failed:
        _log.warning(
            "detect-secrets: %d of %d plugins did not load, the second opinion runs without them: %s; "
            "reinstall with `pip install 'detect-secrets>=1.5'`",
            len(failed),
            len(_DS_PLUGINS),
            "; ".join(failed),
        )
    return tuple(found)


_DS_BROKEN: set[str] = set()


def _ds_values(plugin: Any, text: str) -> set[str]:
    try:
        return {str(v) for v in plugin.analyze_string(text)}
    except Exception as error:  # a plugin bug must not stop ingestion; our own rules already ran
        name = type(plugin).__name__
        if name not in _DS_BROKEN:
            _DS_BROKEN.add(name)
            _log.warning("detect-secrets: plugin %s failed (%s: %s); it is skipped", name, type(error).__name__, error)
        return set()


def _ds_clean(value: str) -> str:
    """A flagged value as it should be masked: `AccountKey=...` keeps its name."""
    value = value.strip()
    head, sep, tail = value.partition("=")
    if sep and head.isalpha() and tail:
        return tail
    return value


def _ds_finder(text: str, allow: frozenset[str]) -> list[_Span]:
    """Spans detect-secrets still flags in our output, each confirmed where it occurs.

    Each plugin reads the distinct lines once (fast: its regexes run in C), with unbroken runs over 512
    characters blanked, because some of its regexes are unbounded and would be quadratic on them (the long
    formats that matter, JWTs and session tokens, are ours). Each value it flags is then looked up in the
    text and confirmed by the same plugin on a window around the occurrence.
    """
    plugins = _ds_plugins()
    if not plugins:
        return []
    blanked = _DS_LONG_RUN.sub(lambda match: " " * len(match.group()), text)
    scan = "\n".join(dict.fromkeys(blanked.split("\n")))
    spans: list[_Span] = []
    for plugin, kind in plugins:
        for raw in sorted(_ds_values(plugin, scan)):
            value = _ds_clean(raw)
            if (
                len(value) < _DS_MIN_LENGTH
                or value in allow
                or any(c in value for c in "{}")
                or any(c.isspace() for c in value)
                or _is_placeholder(value)
            ):
                continue
            pos = text.find(value)
            while pos >= 0:
                start, end = _line_bounds(text, pos)
                window = text[max(start, pos - _DS_WINDOW) : min(end, pos + len(value) + _DS_WINDOW)]
                if raw in _ds_values(plugin, window):
                    spans.append((pos, pos + len(value), kind, True))
                pos = text.find(value, pos + len(value))
    return spans


# ---------------------------------------------------------------------------------------------------------
# Putting it together.


class _Claims:
    """Non-overlapping spans; the first claim on any character wins."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.spans: list[_Span] = []

    def add(self, span: _Span) -> None:
        start, end = span[0], span[1]
        i = bisect_right(self.starts, start)
        if i > 0 and self.spans[i - 1][1] > start:
            return
        if i < len(self.starts) and self.starts[i] < end:
            return
        self.starts.insert(i, start)
        self.spans.insert(i, span)


def _pieces(text: str, span: _Span) -> Iterator[_Span]:
    """A span cut at line breaks, so masking can never change the line count (user patterns may span lines)."""
    start, end, kind, report = span
    if _LINE_PIECE.fullmatch(text, start, end):
        yield span
        return
    for piece in _LINE_PIECE.finditer(text, start, end):
        yield piece.start(), piece.end(), kind, report
        report = False


def _claim_all(text: str, finders: Iterable[_Finder], allow: frozenset[str], views: Iterable[str] = ()) -> list[_Span]:
    """Every span the finders claim in `text`, then in each view of it (same length, same offsets)."""
    claims = _Claims()
    finders = tuple(finders)
    for view in (text, *views):
        doc = _Doc(view)
        for find in finders:
            for span in find(doc):
                if span[1] > span[0] and text[span[0] : span[1]] not in allow:
                    for piece in _pieces(text, span):
                        claims.add(piece)
    return claims.spans


# A line continued onto the next: shell `\`, PowerShell ` (after a blank); a `> ` prompt may open the next line.
_CONTINUATION = re.compile(r"(?:\\|(?<=[ \t])`)[ \t]*\r?\n(?:[ \t]*>(?=[ \t]))?")
_NOT_NEWLINE = re.compile(r"[^\n]")


def _joined_view(text: str) -> str | None:
    """The continued command lines of `text` each joined into one line, everything else blanked.

    Continuation marks become blanks of the same length, so offsets are the text's own; other lines become
    blanks too, so the rules that read them in the text itself do not run twice. None: no continuations.
    """
    marks = list(_CONTINUATION.finditer(text))
    if not marks:
        return None
    out: list[str] = []
    pos = 0
    for mark in marks:
        start, _ = _line_bounds(text, mark.start())
        if start > pos:
            if pos:  # the last line of the previous continued command belongs to it
                _, line_end = _line_bounds(text, pos)
                out.append(text[pos:line_end])
                pos = line_end
            out.append(_NOT_NEWLINE.sub(" ", text[pos:start]))
            pos = start
        out.append(text[pos : mark.start()])
        out.append(" " * (mark.end() - mark.start()))
        pos = mark.end()
    _, end = _line_bounds(text, pos)
    out.append(text[pos:end])
    out.append(_NOT_NEWLINE.sub(" ", text[end:]))
    view = "".join(out)
    return view


def _apply(text: str, spans: list[_Span], path: str, first_line: int) -> tuple[str, list[RedactionFinding]]:
    """The text with each span replaced by `{kind}`, and one finding per reported span."""
    if not spans:
        return text, []
    newlines = [match.start() for match in re.finditer("\n", text)]
    out: list[str] = []
    findings: list[RedactionFinding] = []
    pos = 0
    for start, end, kind, report in spans:
        out.append(text[pos:start])
        out.append("{" + kind + "}")
        pos = end
        if report:
            findings.append(RedactionFinding(path, first_line + bisect_right(newlines, start - 1), kind))
    out.append(text[pos:])
    return "".join(out), findings


def redact_text(text: str, path: str, rules: RedactionRules = RedactionRules(), first_line: int = 1) -> RedactedText:
    """Mask every secret in `text`; findings carry `path` and the line (the text starts at `first_line`).

    Deterministic and shape-preserving: only secret values change, lines are never added or removed, and
    redacting the result again changes nothing.
    """
    joined = _joined_view(text)
    return _redact(text, path, rules, first_line, () if joined is None else (joined,))


def _make_finders(rules: RedactionRules) -> tuple[_Finder, ...]:
    return (
        _BUILTIN[0],
        *_extra_finders(rules.extra_patterns),
        *_BUILTIN[1:],
        _command_finder(rules.credential_rules),
        *_STRUCTURED,
    )


_finders: IdentityCache[RedactionRules, tuple[_Finder, ...]] = IdentityCache(_make_finders, size=64)
"""The finders of each rules object in use, by identity: the lru_caches above hash every credential rule on
each call, a fifth of the time redacting a file name took."""


def _redact(text: str, path: str, rules: RedactionRules, first_line: int, views: tuple[str, ...]) -> RedactedText:
    allow = frozenset(rules.allowlist)
    text_out, findings = _apply(text, _claim_all(text, _finders(rules), allow, views), path, first_line)
    if rules.use_detect_secrets:
        second = sorted(_claim_all(text_out, [lambda doc: iter(_ds_finder(doc.text, allow))], allow))
        text_out, more = _apply(text_out, second, path, first_line)
        findings.extend(more)
    findings.sort(key=lambda finding: finding.line)
    return RedactedText(text_out, tuple(findings))


# In a file name a token often follows `-`, `_` or `.` (`execution-1-ghp_...md`), which the token rules
# take for part of a longer word; a view with that separator blanked lets them see the token's start.
_PATH_TOKEN_START = re.compile(
    r"[-_.](?=gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|ft)-|xox[abposre]-|xapp-|sk-|sk_|rk_|pk-lf-|whsec_|AKIA|ASIA"
    r"|eyJ|AIza|npm_|hf_|dckr_pat_|pypi-|SG\.|hv[sbr]\.)"
)


def redact_path(relative_path: str, rules: RedactionRules = RedactionRules()) -> str:
    """`relative_path` with any secret in it masked, so it can be shown in sources, warnings and errors.

    `runs/execution-1-ghp_...md` becomes `runs/execution-1-{github_token}.md`; an ordinary path is
    returned unchanged.
    """
    view = _PATH_TOKEN_START.sub(" ", relative_path)
    return _redact(relative_path, relative_path, rules, 1, (view,) if view != relative_path else ()).text
