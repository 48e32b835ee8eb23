from runbook_synth.shell import is_noise, program_of, split_block, strip_wrappers, words


def test_console_block_splits_prompts_and_output() -> None:
    block = (
        '$ aws lambda update-function-code \\\n    --function-name report_worker\n{\n  "State": "Active"\n}\n$ ls\na b'
    )
    commands = split_block(block, console=True)
    assert [c.command for c in commands] == [
        "aws lambda update-function-code --function-name report_worker",
        "ls",
    ]
    assert commands[0].output == '{\n  "State": "Active"\n}'
    assert commands[1].line_offset == 5


def test_bash_block_drops_comments_and_keeps_expected_lines() -> None:
    block = (
        "# build the image\ndocker build -t api:abc1234 .  # tag by sha\n# Expected: Successfully built\n\nmake deploy"
    )
    commands = split_block(block)
    assert [c.command for c in commands] == ["docker build -t api:abc1234 .", "make deploy"]
    assert commands[0].expected == "Successfully built"
    assert commands[1].line_offset == 4


def test_hash_inside_quotes_is_not_a_comment() -> None:
    assert split_block("echo 'a # b' # c")[0].command == "echo 'a # b'"


def test_progress_output_is_not_a_prompt() -> None:
    commands = split_block("$ npm ci\n100% |#####| done\nadded 1200 packages", console=True)
    assert [c.command for c in commands] == ["npm ci"]
    assert "100%" in commands[0].output


def test_wrappers_are_stripped_for_comparison() -> None:
    assert (
        strip_wrappers("ENV=prod doppler run -- aws lambda wait function-updated") == "aws lambda wait function-updated"
    )
    assert strip_wrappers("doppler run --config prd -- terraform apply") == "terraform apply"
    assert program_of("sudo time docker ps") == "docker"


def test_noise_commands() -> None:
    assert is_noise("ls -la") and is_noise("git status") and is_noise("pwd")
    assert not is_noise("cat out.json | jq .") and not is_noise("git push origin main")


def test_words_keep_quotes() -> None:
    assert words('aws logs filter --filter-pattern "Task timed out" --x') == [
        "aws",
        "logs",
        "filter",
        "--filter-pattern",
        '"Task timed out"',
        "--x",
    ]


def test_unterminated_continuation_and_garbage_never_raise() -> None:
    assert split_block("docker build \\") == [split_block("docker build")[0]]
    assert split_block("\x00\x00\n\\\n$") is not None
