"""The command tokenizer: shell text as people paste it (prompts, heredocs, compound statements) to commands.

Commands are found with tree-sitter-bash, a real bash grammar, so a heredoc, a multi-line quoted string or an
`if ... fi` stays one command; where the grammar fails (a paste cut short, prose in a bash fence), the broken
line is taken on its own and parsing resumes after it. Never raises: whatever the text, it returns commands.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass

import tree_sitter_bash
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

_PROMPT = re.compile(r"^\s{0,8}(?:(?:\(\S{1,40}\)\s)?(?:\[[^\]\n]{1,80}\]\s?|[\w.@~:/-]{0,80}\s?)?[$❯]|%)\s+(?=\S)")
_ROOT_PROMPT = re.compile(r"^\s{0,8}[\w.@-]{1,60}:[~/][^#\s]{0,200}#\s+(?=\S)")
_BARE_ROOT_PROMPT = re.compile(r"^\s{0,8}#\s+(?=\S)")
_CONTINUATION_PROMPT = re.compile(r"^\s{0,8}>(?: |$)")
# PowerShell's `PS C:\> ` / `PS /home/me> ` / `PS> `: unambiguous, unlike a bare `> ` (see _angle_prompts).
_POWERSHELL_PROMPT = re.compile(r"^\s{0,8}PS(?: [^>\n]{1,200})?>\s+(?=\S)")
# A bare `> `: a custom or PowerShell-style prompt, a bash continuation, or a quoted line in output.
_ANGLE_PROMPT = re.compile(r"^\s{0,8}>\s+(?=\S)")
# A compound statement typed at a `> ` prompt and finished on `> ` lines (`for ... done`): typed, though no
# single program runs it.
_COMPOUND_START = re.compile(r"^\s*(?:if|for|while|until|case|select)\s")
_EXPECTED = re.compile(r"^\s*#\s*expected\s*(?:output)?\s*[:=-]\s?(.*)$", re.IGNORECASE)
_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,60}=(?:'[^']{0,500}'|\"[^\"]{0,500}\"|\S{0,500})$")
_WRAPPER_RE = re.compile(
    r"^(?:(?:sudo|time|nohup|exec)\s+|doppler\s+run(?:\s+(?:-{1,2}[\w-]+(?:[= ](?!--\s)\S+)?))*\s+--\s+"
    r"|aws-vault\s+exec\s+\S+\s+--\s+|env\s+)"
)
_WORD = re.compile(r"""(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^\s'"\\])+""")

# `<your-id>` in a pasted command is a placeholder, not two redirections; masked (same length) before parsing.
_ANGLE_PLACEHOLDER = re.compile(rb"(?<![<\w$])<([A-Za-z_][\w.:-]{0,60}(?: [\w.:-]{1,30}){0,5})>")
_ESCAPED_LINE_START = re.compile(rb"(?m)^([ \t]*)\\(?=\w)")
# A line break that only continues the command: after a backslash, or after `&&`, `||`, `|`.
_LINE_BREAK = re.compile(rb"[ \t]*\\\n[ \t]*|(?P<operator>&&|\|\||\|&|\|)[ \t]*\n\s*")
_QUOTED = re.compile(r"""'[^'\n]*'|"(?:\\.|[^"\\\n])*\"""")
_BULLET = re.compile(r"^\s*(?:[-*•+◦▪]|\d{1,3}[.)]|[a-zA-Z][.)])\s+\S")
_DIAGRAM_CHARS = re.compile(r"[\u2190-\u21ff\u2500-\u259f\u25a0-\u25ff\u27f0-\u27ff]")
_ASCII_ARROW = re.compile(r"(?:^|\s)(?:-+>|=+>|<-+|<=+)(?:\s|$)|\w(?:->|=>)\w")
_ASCII_BOX = re.compile(r"^\s*[+|]\s*[-=+]{2,}|[-=]{3,}\s*[+|]\s*$|^\s*\|.*\|\s*$")
# Words of prose, never of a command line (`restart the service` is a sentence, `dr deploy prod` a command).
# fmt: off
_STOPWORDS = frozenset({
    "a", "an", "the", "to", "of", "in", "on", "for", "and", "or", "is", "are", "was", "were", "be", "been",
    "it", "its", "this", "that", "these", "those", "with", "then", "than", "we", "i", "you", "they", "he",
    "she", "not", "but", "if", "when", "by", "from", "at", "as", "so", "do", "does", "did", "has", "have",
    "had", "will", "would", "should", "can", "could", "must", "may", "after", "before", "because", "which",
    "who", "what", "where", "why", "how", "all", "any", "some", "no", "our", "your", "their", "my",
})
# fmt: on
_PROGRAM_NAME = re.compile(r"^[a-z][a-z0-9._+-]{0,40}$")
_SCRIPT_PATH = re.compile(r"^(?:\.{1,2}/|~/)\S+$|^\S*/\S+\.(?:sh|bash|py|rb|js|ts|pl)$|^\S*\b(?:s?bin|scripts?)/\S+$")
_PROTECTED = frozenset(
    {"string", "raw_string", "ansi_c_string", "translated_string", "heredoc_body", "heredoc_content"}
)
_MAYBE_UNFINISHED = re.compile(
    r"""['"`(){}\[<]|\\\s*$|(?:&&|\|\||\|)\s*$|^\s*(?:if|for|while|until|case|select|function)\b"""
)
_MAX_REPARSES = 12
_WINDOW = 400
_LOOKAHEAD = 60

_LANGUAGE = Language(tree_sitter_bash.language())
_COMMENTS = Query(_LANGUAGE, "(comment) @comment")
_LOCAL = threading.local()

SHELL_LANGUAGES = frozenset(
    {"bash", "sh", "shell", "zsh", "ksh", "console", "shell-session", "shellsession", "sh-session", "terminal"}
)
CONSOLE_LANGUAGES = frozenset({"console", "shell-session", "shellsession", "sh-session"})
# Fences people paste terminal sessions into without calling them shell: commands only where a prompt says so,
# otherwise output and text. Not `log`: a log holds what a program wrote, and there `$ `, `% ` and `> ` start
# message text (a shell trace, `curl -v` headers), never something typed.
TRANSCRIPT_LANGUAGES = frozenset({"text", "txt", "plain", "plaintext", "output", "none"})

# Commands a person types while looking around; never a step of a procedure on their own.
NOISE_PROGRAMS = frozenset(
    {
        "ls",
        "ll",
        "pwd",
        "cd",
        "clear",
        "cat",
        "less",
        "more",
        "head",
        "echo",
        "history",
        "whoami",
        "which",
        "man",
        "vim",
        "vi",
        "nano",
        "exit",
        "true",
        "date",
        "tree",
        "open",
        "code",
        "source",
    }
)
_NOISE_GIT = frozenset({"status", "log", "diff", "branch", "show", "stash", "fetch"})


@dataclass(frozen=True)
class ShellCommand:
    """One logical command from a block: its text, 0-based line offset inside the block and lines spanned."""

    command: str
    line_offset: int
    output: str = ""
    expected: str = ""
    line_count: int = 1


def is_shell_language(language: str) -> bool:
    """Whether a fence's info-string language is a shell (`bash`, `console`, ...); `sql`, `yaml`, `text` are not."""
    return _language_word(language) in SHELL_LANGUAGES


def is_console_language(language: str) -> bool:
    """Whether a fence is a terminal transcript, where prompts separate commands from their output."""
    return _language_word(language) in CONSOLE_LANGUAGES


def is_shell_block(language: str, text: str) -> bool:
    """Whether a fenced block holds shell: its language decides, and an untagged or text one must earn it.

    A shell language (`bash`, `console`) always holds shell and a code language (`sql`, `yaml`) never, prompts
    or not. A text-like fence (`text`, `output`) holds commands only as a transcript: prompted lines, most of
    them commands. An untagged fence counts as a transcript too, or when most of its lines are commands and it
    draws no diagram (a transcript's output may: `systemctl status` prints `●` and `└─`).
    """
    word = _language_word(language)
    if language.strip() and word not in TRANSCRIPT_LANGUAGES:
        return word in SHELL_LANGUAGES
    lines = _lines(text)
    if not _has_prompts(lines) and (language.strip() or _DIAGRAM_CHARS.search(text)):
        return False
    commands = split_block(text)
    plausible = sum(1 for command in commands if looks_like_command(command.command))
    return plausible > 0 and plausible * 2 >= len(commands)


def _language_word(language: str) -> str:
    match = re.match(r"[\w+#-]*", language.strip().lstrip("{.").lower())
    return match.group(0) if match else ""


def strip_prompt(line: str) -> tuple[str, bool]:
    """Remove a leading shell prompt ("$ ", "user@host:~$ ", "(venv) $ ", "[me@h ~]$ ", "root@h:/# ", "PS C:\\> ")."""
    match = _PROMPT.match(line) or _ROOT_PROMPT.match(line) or _POWERSHELL_PROMPT.match(line)
    if match:
        return line[match.end() :], True
    return line, False


def split_block(text: str, console: bool | None = None) -> list[ShellCommand]:
    """Commands in a code block, each with the line it starts on.

    In a console block (or any block whose lines carry prompts) only prompted commands are commands and the
    lines below them, up to the next prompt, are their output; otherwise every statement is a command.
    Statements typed on one line stay together; backslash and `&&`/`|` continuations are joined with a single
    space, while heredocs, multi-line strings and compound statements keep their newlines. Comments are dropped;
    `# Expected: …` lines become the expected output of the command above.
    """
    lines = _lines(text)
    prompted = any(strip_prompt(line)[1] for line in lines[:200])
    angle = not prompted and _angle_prompts(lines[:200])
    if console is None:
        console = prompted or angle
    if console:
        return _split_console(lines, root_prompts=not prompted, angle_prompts=angle)
    return _split_plain(lines)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _has_prompts(lines: list[str]) -> bool:
    """Whether the lines are a transcript: some carry a prompt (`$ `, `user@host:~$ `, or `> ` as a prompt)."""
    head = lines[:200]
    return any(strip_prompt(line)[1] for line in head) or _angle_prompts(head)


def _angle_prompts(lines: list[str]) -> bool:
    """Whether `> ` is this block's prompt: it opens the first line or starts two lines, first with a command.

    A bare `> ` is also bash's continuation prompt and how output quotes a line (`curl -v` headers, npm's
    `> api@1.4.0 build`), so it is no prompt when it appears once deep inside output, when the first one does not
    start a command, or when the first one finishes the line above it (`for ... do`, then `> ...` and `> done`).
    Where another prompt is in use it never is (the caller's check): there a `> ` continues the command above.
    """
    rows = [index for index, line in enumerate(lines) if _ANGLE_PROMPT.match(line)]
    if not rows:
        return False
    first, above = rows[0], rows[0] - 1
    if first != next(index for index, line in enumerate(lines) if line.strip()) and len(rows) < 2:
        return False
    if above >= 0 and lines[above].strip():
        parts, following = _prompted_command(lines, above, lines[above], root_prompts=True, angle_prompts=True)
        if following > first and not _unfinished("\n".join(parts)):
            return False
    typed = _ANGLE_PROMPT.sub("", lines[first], count=1)
    parts, _ = _prompted_command(lines, first, typed, root_prompts=True, angle_prompts=True)
    return _typed_at_angle_prompt(parts)


def _parser() -> Parser:
    parser: Parser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = Parser(_LANGUAGE)
        _LOCAL.parser = parser
    return parser


def _parse(data: bytes) -> Tree:
    """Parse with placeholders masked, same length, so node offsets still index the original text."""
    masked = _ANGLE_PLACEHOLDER.sub(lambda m: b"_" + m.group(1) + b"_", data)
    if b"\\" in masked:
        # tree-sitter-bash reads a line starting with `\\word` as the previous line's continuation
        masked = _ESCAPED_LINE_START.sub(rb"\1 ", masked)
    return _parser().parse(masked)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def parses_cleanly(command: str) -> bool:
    """Whether bash's grammar reads the text without an error (placeholders like `<name>` allowed)."""
    return not _parse(_encode(command)).root_node.has_error


@dataclass
class _Pending:
    """A command being assembled (mutable while output and expected lines are attached)."""

    command: str
    line_offset: int
    line_count: int
    output: list[str]
    expected: list[str]

    def freeze(self) -> ShellCommand:
        return ShellCommand(
            self.command, self.line_offset, "\n".join(self.output), "\n".join(self.expected), self.line_count
        )


def _split_plain(lines: list[str]) -> list[ShellCommand]:
    """Statements of a script; where bash's grammar fails, the failing line alone, then parse again after it.

    Text is parsed in windows of lines so that a block full of errors (prose in a bash fence) costs a few
    small parses, not one slow error-recovering parse per error; after a few errors, lines are taken as they are.
    """
    pending: list[_Pending] = []
    start, window, reparses = 0, _WINDOW, 0
    while start < len(lines):
        end = min(len(lines), start + window)
        resume, failed = _parse_region(lines, start, end, pending)
        if failed:
            reparses += 1
            if reparses > _MAX_REPARSES:
                _split_lines(lines, resume, pending)
                break
            start, window = _take_fallback_line(lines, resume, pending), _WINDOW
        elif resume == start:
            window *= 2  # one statement longer than the window (a long heredoc): look further
        else:
            start, window = resume, _WINDOW
    return [item.freeze() for item in pending]


def _parse_region(lines: list[str], start: int, end: int, pending: list[_Pending]) -> tuple[int, bool]:
    """Add the statements of lines[start:end] up to the first that bash cannot read or the window may cut.

    Returns the row to go on from, and whether it is the row of a statement bash could not read.
    """
    data = _encode("\n".join(lines[start:end]))
    tree = _parse(data)
    root = tree.root_node
    children = root.children
    if not children:
        return end, False
    stop_index, failed = len(children), False
    if root.has_error:
        stop_index, failed = next(
            ((index, True) for index, child in enumerate(children) if child.has_error or child.is_missing), (0, True)
        )
    if end < len(lines):
        # the window may cut its last statement short: leave it (and what shares its line) to the next window
        last = max(
            (index for index, child in enumerate(children) if child.is_named and child.type != "comment"), default=-1
        )
        if 0 <= last <= stop_index:
            stop_index, failed = last, False
    if stop_index < len(children):
        stop_row = children[stop_index].start_point.row
        while stop_index > 0 and children[stop_index - 1].end_point.row >= stop_row:
            stop_index -= 1
            stop_row = min(stop_row, children[stop_index].start_point.row)
        resume = start + stop_row
    else:
        resume = end
    comments = _comment_ranges(tree, data)
    group: list[Node] = []
    for child in children[:stop_index]:
        if child.type == "comment":
            if group and child.start_point.row == group[-1].end_point.row:
                continue  # a trailing comment
            _flush(group, data, start, comments, root, pending)
            group = []
            expected = _EXPECTED.match(_decode(data[child.start_byte : child.end_byte]))
            if expected and pending:
                pending[-1].expected.append(expected.group(1).strip())
            continue
        if not child.is_named:
            if child.type == "&" and group and child.start_point.row == group[-1].end_point.row:
                group.append(child)
            continue
        if group and child.start_point.row != group[-1].end_point.row:
            _flush(group, data, start, comments, root, pending)
            group = []
        group.append(child)
    _flush(group, data, start, comments, root, pending)
    return resume, failed


def _comment_ranges(tree: Tree, data: bytes) -> list[tuple[int, int]]:
    if b"#" not in data:
        return []
    nodes = QueryCursor(_COMMENTS).captures(tree.root_node).get("comment", [])
    return sorted((node.start_byte, node.end_byte) for node in nodes)


def _flush(
    group: list[Node], data: bytes, base_row: int, comments: list[tuple[int, int]], root: Node, into: list[_Pending]
) -> None:
    if not group:
        return
    first, last = group[0], group[-1]
    command = _command_text(data, first.start_byte, last.end_byte, comments, root)
    row = base_row + first.start_point.row
    _add(into, command, row, last.end_point.row - first.start_point.row + 1)


def _add(into: list[_Pending], command: str, row: int, line_count: int) -> None:
    """Append a command, or attach a bullet/diagram/table line to the command above as its output."""
    if not command:
        return
    if _is_prose_or_diagram(command.split("\n", 1)[0]):
        if into:
            into[-1].output.append(command)
        return
    into.append(_Pending(command, row, line_count, [], []))


def _command_text(data: bytes, start: int, end: int, comments: list[tuple[int, int]], root: Node) -> str:
    """The statement as typed, without comments, continuation lines joined with one space."""
    chunks: list[bytes] = []
    origins: list[int] = []  # where each chunk starts in `data`
    position = start
    for comment_start, comment_end in comments[bisect.bisect_left(comments, (start, 0)) :]:
        if comment_start >= end:
            break
        cut = comment_start
        while cut > position and data[cut - 1 : cut] in (b" ", b"\t"):
            cut -= 1
        resume = comment_end
        if (cut == start or data[cut - 1 : cut] == b"\n") and data[comment_end : comment_end + 1] == b"\n":
            resume = comment_end + 1  # a comment on a line of its own: drop the line
        chunks.append(data[position:cut])
        origins.append(position)
        position = resume
    chunks.append(data[position:end])
    origins.append(position)
    text = b"".join(chunks)
    if b"\n" not in text:
        return _decode(text).strip()
    offsets: list[int] = []
    total = 0
    for chunk in chunks:
        offsets.append(total)
        total += len(chunk)

    def join(match: re.Match[bytes]) -> bytes:
        chunk = bisect.bisect_right(offsets, match.start()) - 1
        if _is_protected(root, origins[chunk] + match.start() - offsets[chunk]):
            return match.group(0)
        return match.group("operator") + b" " if match.group("operator") else b" "

    return _decode(_LINE_BREAK.sub(join, text)).strip()


def _is_protected(root: Node, byte: int) -> bool:
    """Whether a byte lies inside a quoted string or a heredoc body, where newlines are content."""
    node: Node | None = root.descendant_for_byte_range(byte, byte + 1)
    while node is not None:
        if node.type in _PROTECTED:
            return True
        node = node.parent
    return False


def _take_fallback_line(lines: list[str], row: int, pending: list[_Pending]) -> int:
    """Take the logical line at `row` (backslash continuations joined) as one command; the row after it."""
    parts = [lines[row]]
    end = row + 1
    while parts[-1].rstrip().endswith("\\") and end < len(lines):
        parts[-1] = parts[-1].rstrip()[:-1]
        parts.append(lines[end])
        end += 1
    if parts[-1].rstrip().endswith("\\"):
        parts[-1] = parts[-1].rstrip()[:-1]
    raw = parts[0].lstrip()
    expected = _EXPECTED.match(raw)
    if expected and pending:
        pending[-1].expected.append(expected.group(1).strip())
    elif not raw.startswith("#"):
        command = _strip_trailing_comment(" ".join(p for p in (part.strip() for part in parts) if p))
        _add(pending, command, row, end - row)
    return end


def _split_lines(lines: list[str], start: int, pending: list[_Pending]) -> None:
    """The last resort for text bash cannot read at all: one command per logical line."""
    row = start
    while row < len(lines):
        row = _take_fallback_line(lines, row, pending) if lines[row].strip() else row + 1


def _split_console(lines: list[str], root_prompts: bool, angle_prompts: bool = False) -> list[ShellCommand]:
    """A transcript: each prompt starts a command (continued on `> ` lines if unfinished), the rest is output.

    With `> ` prompts a `> ` line starts a command only when what it starts reads as one (a quoted line in the
    output does not), and one directly after an unfinished command still continues it.
    """
    pending: list[_Pending] = []
    index = 0
    while index < len(lines):
        raw = lines[index]
        expected = _EXPECTED.match(raw)
        if expected and pending:
            pending[-1].expected.append(expected.group(1).strip())
            index += 1
            continue
        typed, prompted = _console_prompt(raw, root_prompts, angle_prompts)
        parts, following = [typed], index + 1
        if prompted:
            parts, following = _prompted_command(lines, index, typed, root_prompts, angle_prompts)
            if angle_prompts and _ANGLE_PROMPT.match(raw) and not _typed_at_angle_prompt(parts):
                prompted = False  # a line the output quotes
        if not prompted:
            if pending and raw.strip():
                pending[-1].output.append(raw)
            index += 1
            continue
        for command in _split_plain(parts):
            lines_expected = [command.expected] if command.expected else []
            row = index + command.line_offset
            pending.append(_Pending(command.command, row, command.line_count, [], lines_expected))
        index = following
    return [item.freeze() for item in pending]


def _typed_at_angle_prompt(parts: list[str]) -> bool:
    """Whether what follows a `> ` reads as typed: a command, or a compound statement finished on `> ` lines."""
    command = "\n".join(parts)
    if looks_like_command(command):
        return True
    return len(parts) > 1 and bool(_COMPOUND_START.match(command)) and parses_cleanly(command)


def _console_prompt(line: str, root_prompts: bool, angle_prompts: bool) -> tuple[str, bool]:
    typed, prompted = strip_prompt(line)
    if not prompted and root_prompts:
        match = _BARE_ROOT_PROMPT.match(line)
        if match and looks_like_command(line[match.end() :]):
            return line[match.end() :], True
    if not prompted and angle_prompts:
        match = _ANGLE_PROMPT.match(line)
        if match:
            return line[match.end() :], True
    return typed, prompted


def _prompted_command(
    lines: list[str], index: int, typed: str, root_prompts: bool, angle_prompts: bool
) -> tuple[list[str], int]:
    """The lines of the command typed at lines[index], and the index after them.

    While the command is unfinished a `> ` line continues it, even where `> ` is also the prompt.
    """
    parts = [typed]
    if not _unfinished(typed):
        return parts, index + 1
    candidate = list(parts)
    following = index + 1
    while following < len(lines) and following - index <= _LOOKAHEAD:
        line = lines[following]
        continuation = _CONTINUATION_PROMPT.match(line)
        if not continuation and _console_prompt(line, root_prompts, angle_prompts)[1]:
            break
        candidate.append(line[continuation.end() :] if continuation else line)
        following += 1
        if not _unfinished("\n".join(candidate)):
            return candidate, following
    following = index + 1
    while parts[-1].rstrip().endswith("\\") and following < len(lines):
        line = lines[following]
        continuation = _CONTINUATION_PROMPT.match(line)
        if not continuation and _console_prompt(line, root_prompts, angle_prompts)[1]:
            break
        parts.append(line[continuation.end() :] if continuation else line)
        following += 1
    return parts, following


def _unfinished(command: str) -> bool:
    """Whether a typed command needs more lines (open quote, heredoc, `if` without `fi`, trailing `\\`)."""
    if not _MAYBE_UNFINISHED.search(command):
        return False
    return command.rstrip().endswith("\\") or _parse(_encode(command)).root_node.has_error


def _strip_trailing_comment(command: str) -> str:
    """Drop a ` # comment` outside quotes."""
    quote = ""
    for position, char in enumerate(command):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and position > 0 and command[position - 1] in " \t":
            return command[:position].rstrip()
    return command.strip()


def _is_prose_or_diagram(line: str) -> bool:
    """Bullets, numbered items, table rows, arrows and box drawing: what diagrams and prose look like."""
    if _BULLET.match(line):
        return True
    if not line.isascii() and _DIAGRAM_CHARS.search(line):
        return True
    if ("+" in line or "|" in line) and _ASCII_BOX.search(line):
        return True
    arrows = "->" in line or "=>" in line or "<-" in line or "<=" in line
    return arrows and bool(_ASCII_ARROW.search(_QUOTED.sub("''", line)))


def words(command: str) -> list[str]:
    """Shell words, quotes kept as written (so templates show the command as typed)."""
    return _WORD.findall(command)


def strip_wrappers(command: str) -> str:
    """The command without env assignments and wrappers (`ENV=prod doppler run -- `, `sudo`, `time`)."""
    rest = command.strip()
    for _ in range(8):
        changed = False
        tokens = rest.split(None, 1)
        if tokens and _ENV_ASSIGN.match(tokens[0]) and len(tokens) > 1:
            rest = tokens[1]
            changed = True
        match = _WRAPPER_RE.match(rest)
        if match:
            rest = rest[match.end() :]
            changed = True
        if not changed:
            break
    return rest.strip()


_AFTER_DOUBLE_DASH = re.compile(r"\s--\s+(?=[A-Za-z./~])")
_LAST_QUOTED = re.compile(r"^\S+(?:\s+\S+)*?\s+'([^'\n]+)'\s*$")
_CONTINUED = re.compile(r"[ \t]*\\\n[ \t]*")


def launched(command: str) -> str:
    """The command a launcher runs, or "": what follows a standalone `--` (`op run --env-file=x -- cmd`,
    `aws-vault exec prod -- cmd`), or the one quoted argument that ends the line (`sops exec-env f 'cmd'`).
    A line continued with a backslash, inside the quotes or out, is one line."""
    text = _CONTINUED.sub(" ", command.strip())
    if "\n" in text:
        return ""
    match = _AFTER_DOUBLE_DASH.search(text)
    if match:
        return text[match.end() :]
    quoted = _LAST_QUOTED.match(text)
    return quoted.group(1).strip() if quoted else ""


def program_of(command: str) -> str:
    """The program a command runs, after wrappers: `aws`, `docker`, `terraform`, ..."""
    tokens = words(strip_wrappers(command))
    if not tokens:
        return ""
    return tokens[0].rsplit("/", 1)[-1]


def is_noise(command: str) -> bool:
    """Looking-around commands (`ls`, `pwd`, `git status`) that never make a step of their own."""
    tokens = words(strip_wrappers(command))
    if not tokens:
        return True
    program = tokens[0].rsplit("/", 1)[-1]
    if program in NOISE_PROGRAMS:
        return "|" not in command and ">" not in command
    return program == "git" and len(tokens) > 1 and tokens[1] in _NOISE_GIT


_ORIENTATION = re.compile(
    r"^(?:aws\s+sts\s+get-caller-identity|kubectl\s+config\s+(?:current-context|get-contexts|view)|"
    r"gcloud\s+config\s+list|az\s+account\s+show|gh\s+auth\s+status|doppler\s+(?:me|configure\s+get))\b"
)


def is_orientation(command: str) -> bool:
    """ "Who and where am I" commands: a step only when nearly every run starts with them."""
    return bool(_ORIENTATION.match(strip_wrappers(command)))


def looks_like_command(text: str) -> bool:
    """Whether text (inline code, a line of an untagged fence) is a command someone would run.

    It must parse as bash and run a known tool (`aws lambda ...`), a script path (`./scripts/x.sh`) or a
    plausible program (`name --flag`, `name sub arg`); prose, bullets, arrows, diagrams, table rows and lone
    words (`report_worker`) are not commands.
    """
    stripped, _ = strip_prompt(text.strip())
    first_line = stripped.split("\n", 1)[0]
    if not first_line or _is_prose_or_diagram(first_line):
        return False
    rest = strip_wrappers(stripped)
    tree = _parse(_encode(rest))
    if tree.root_node.has_error:
        return False
    command = _first_simple_command(tree.root_node)
    if command is None:
        return False
    name_node = command.child_by_field_name("name")
    if command.type == "declaration_command":
        return command.child_count >= 2 and (command.children[0].text or b"") in (b"export", b"declare")
    if name_node is None:
        return False
    name = _decode(name_node.text or b"")
    arguments = [
        _decode(child.text or b"")
        for child in command.children_by_field_name("argument")
        if child.type not in ("comment", "heredoc_redirect")
    ]
    program = name.rsplit("/", 1)[-1]
    if program in KNOWN_TOOLS or program in COMMON_UTILITIES:
        return bool(arguments) or "|" in rest or ">" in rest
    if _SCRIPT_PATH.match(name):
        return name.startswith(("./", "../", "~/")) or bool(arguments) or "." in program
    if not _PROGRAM_NAME.match(name) or name in _STOPWORDS:
        return False
    if any(argument.startswith("-") and len(argument) > 1 for argument in arguments):
        return True
    plain = [argument for argument in arguments if re.fullmatch(r"[\w.:/@={}$-]+", argument)]
    return (
        len(arguments) >= 2
        and len(plain) == len(arguments)
        and not any(argument.lower() in _STOPWORDS for argument in arguments)
        and not first_line.rstrip().endswith((".", ",", ";", "!", "?"))
    )


def _first_simple_command(node: Node) -> Node | None:
    """The first `command` (or `export`) that a statement runs, looking through pipelines, lists, redirects."""
    for child in node.named_children:
        if child.type in ("command", "declaration_command"):
            return child
        if child.type in ("pipeline", "list", "redirected_statement", "negated_command"):
            return _first_simple_command(child)
        if child.type == "comment":
            continue
        return None
    return None


KNOWN_TOOLS = frozenset(
    {
        "aws",
        "docker",
        "terraform",
        "kubectl",
        "helm",
        "gh",
        "doppler",
        "psql",
        "pg_dump",
        "pg_restore",
        "mysql",
        "npm",
        "npx",
        "yarn",
        "pnpm",
        "node",
        "python",
        "python3",
        "pip",
        "pytest",
        "alembic",
        "curl",
        "jq",
        "make",
        "git",
        "dr",
        "sam",
        "cdk",
        "serverless",
        "sls",
        "gcloud",
        "az",
        "redis-cli",
        "ssh",
        "scp",
        "rsync",
        "systemctl",
        "journalctl",
        "openssl",
        "certbot",
        "flyway",
        "liquibase",
        "ansible-playbook",
        "eksctl",
        "argocd",
        "vault",
        "wrangler",
        "netlify",
        "vercel",
        "firebase",
        "dig",
        "nc",
        "sqlite3",
        "mongosh",
        "rabbitmqctl",
        "kafka-topics",
        "celery",
        "supabase",
        "fly",
        "heroku",
        "ecs-cli",
        "skaffold",
        "kustomize",
        "pulumi",
        "packer",
        "nomad",
        "consul",
        "stripe",
        "http",
        "wget",
        "tar",
        "gzip",
        "bash",
        "sh",
    }
)

# Everyday Unix programs: enough to make inline code a command, not a procedure's tool (see KNOWN_TOOLS).
COMMON_UTILITIES = frozenset(
    {
        "apk",
        "apt",
        "apt-get",
        "awk",
        "brew",
        "bundle",
        "cargo",
        "cat",
        "chmod",
        "chown",
        "cp",
        "crontab",
        "df",
        "dnf",
        "du",
        "echo",
        "env",
        "find",
        "free",
        "go",
        "gradle",
        "grep",
        "head",
        "java",
        "kill",
        "killall",
        "ln",
        "ls",
        "lsof",
        "mkdir",
        "mv",
        "mvn",
        "mysqldump",
        "netstat",
        "nslookup",
        "ping",
        "pip3",
        "pipx",
        "poetry",
        "ps",
        "rake",
        "rg",
        "rm",
        "ruby",
        "sed",
        "service",
        "sleep",
        "sort",
        "ss",
        "tail",
        "tee",
        "touch",
        "traceroute",
        "uniq",
        "uv",
        "watch",
        "wc",
        "xargs",
        "yum",
        "zcat",
    }
)
