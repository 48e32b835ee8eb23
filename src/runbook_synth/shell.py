"""The command tokenizer: shell text as people paste it (prompts, continuations, comments) to commands.

Never raises: whatever the text, it returns commands (possibly none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PROMPT = re.compile(r"^\s{0,8}(?:(?:\(\S{1,40}\)\s)?(?:[\w.@~:/-]{0,80}\s?)?[$❯]|%)\s+(?=\S)")
_ROOT_PROMPT = re.compile(r"^\s{0,8}[\w.@-]{1,60}:[~/][^#\s]{0,200}#\s+(?=\S)")
_EXPECTED = re.compile(r"^\s*#\s*expected\s*(?:output)?\s*[:=-]\s?(.*)$", re.IGNORECASE)
_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,60}=(?:'[^']{0,500}'|\"[^\"]{0,500}\"|\S{0,500})$")
_WRAPPER_RE = re.compile(
    r"^(?:(?:sudo|time|nohup|exec)\s+|doppler\s+run(?:\s+(?:-{1,2}[\w-]+(?:[= ](?!--\s)\S+)?))*\s+--\s+"
    r"|aws-vault\s+exec\s+\S+\s+--\s+|env\s+)"
)
_WORD = re.compile(r"""(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^\s'"\\])+""")

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
    """One logical command from a block, with its 0-based line offset inside the block."""

    command: str
    line_offset: int
    output: str = ""
    expected: str = ""


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def strip_prompt(line: str) -> tuple[str, bool]:
    """Remove a leading shell prompt ("$ ", "user@host:~$ ", "(venv) $ ", "root@h:/# ")."""
    match = _PROMPT.match(line) or _ROOT_PROMPT.match(line)
    if match:
        return line[match.end() :], True
    return line, False


def split_block(text: str, console: bool | None = None) -> list[ShellCommand]:
    """Commands in a code block.

    In a console block (or any block whose lines carry prompts) only prompted lines are commands and the
    lines below them are their output; otherwise every non-comment line is a command. Backslash
    continuations are joined; `# Expected: …` lines become the expected output of the command above.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if console is None:
        console = any(strip_prompt(line)[1] for line in lines[:200])
    commands: list[ShellCommand] = []
    index = 0
    while index < len(lines):
        raw = lines[index]
        start = index
        index += 1
        expected_match = _EXPECTED.match(raw)
        if expected_match and commands:
            last = commands[-1]
            joined = (last.expected + "\n" if last.expected else "") + expected_match.group(1).strip()
            commands[-1] = ShellCommand(last.command, last.line_offset, last.output, joined)
            continue
        line, prompted = strip_prompt(raw)
        if console and not prompted:
            if commands and raw.strip():
                last = commands[-1]
                output = (last.output + "\n" if last.output else "") + raw
                commands[-1] = ShellCommand(last.command, last.line_offset, output, last.expected)
            continue
        if not line.strip() or _is_comment(line):
            continue
        parts = [line.rstrip()]
        while parts[-1].endswith("\\") and index < len(lines):
            parts[-1] = parts[-1][:-1].rstrip()
            parts.append(lines[index].strip())
            index += 1
        if parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1].rstrip()
        command = " ".join(p for p in (part.strip() for part in parts) if p)
        command = _strip_trailing_comment(command)
        if command:
            commands.append(ShellCommand(command, start))
    return commands


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
    """Inline code that is a command (`aws lambda ...`), not a name (`report_worker`)."""
    tokens = words(strip_wrappers(text))
    return len(tokens) >= 2 and tokens[0] in KNOWN_TOOLS


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
