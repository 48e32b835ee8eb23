from runbook_synth.normalize import (
    PlaceholderNames,
    command_key,
    error_key,
    mask_text,
    representative_output,
    template_commands,
)

DIGEST_A = "sha256:" + "a" * 63 + "1"
DIGEST_B = "sha256:" + "b" * 63 + "2"


def test_what_varies_becomes_a_placeholder_and_constants_stay() -> None:
    built = template_commands(
        [
            (
                0,
                f"aws lambda update-function-code --function-name report_worker --image-uri 1234.dkr/api@{DIGEST_A}",
            ),
            (
                1,
                f"aws lambda update-function-code --function-name report_worker --image-uri 1234.dkr/api@{DIGEST_B}",
            ),
        ]
    )
    assert (
        built.template
        == "aws lambda update-function-code --function-name report_worker --image-uri 1234.dkr/api@{digest}"
    )
    assert [p.name for p in built.parameters] == ["digest"]


def test_whole_value_after_a_flag_is_named_after_the_flag() -> None:
    built = template_commands(
        [(0, "aws cloudfront wait --id I2J3K4L5M6"), (1, "aws cloudfront wait --id IABCDEF12345")]
    )
    assert built.template == "aws cloudfront wait --id {id}"


def test_partial_variation_is_widened_to_the_whole_shape() -> None:
    built = template_commands(
        [
            (0, "aws rds snap --identifier pre-migration-2026-09-01"),
            (1, "aws rds snap --identifier pre-migration-2026-10-11"),
        ]
    )
    assert built.template == "aws rds snap --identifier pre-migration-{date}"


def test_assignments_are_named_after_their_key() -> None:
    built = template_commands(
        [(0, "kubectl scale deploy/api --replicas=4"), (1, "kubectl scale deploy/api --replicas=12")]
    )
    assert built.template == "kubectl scale deploy/api --replicas={replicas}"


def test_constant_numbers_stay_literal() -> None:
    built = template_commands([(0, "aws s3 ls --account 123456789012"), (1, "aws s3 ls --account 123456789012")])
    assert built.template == "aws s3 ls --account 123456789012"
    assert built.parameters == ()


def test_same_values_share_one_name_across_commands() -> None:
    names = PlaceholderNames()
    build = template_commands([(0, "docker build -t api:abc1234 ."), (1, "docker build -t api:9f8e7d6 .")], names)
    push = template_commands([(0, "docker push api:abc1234"), (1, "docker push api:9f8e7d6")], names)
    other = template_commands([(0, "git checkout 1111aaa"), (1, "git checkout 2222bbb")], names)
    assert build.template.endswith("api:{git_sha} .") and push.template == "docker push api:{git_sha}"
    assert other.template == "git checkout {git_sha_2}"


def test_single_run_masks_only_unmistakable_shapes() -> None:
    built = template_commands([(0, f"docker pull api@{DIGEST_A} --name report_worker")])
    assert built.template == "docker pull api@{digest} --name report_worker"


def test_keys_ignore_wrappers_and_values() -> None:
    assert command_key("ENV=prod doppler run -- docker push x:abc1234") == command_key("docker push x:9f8e7d6")
    assert error_key("Error: denied at 2026-01-01T10:00:00Z") == "error: denied at <timestamp>"


def test_representative_output_is_the_common_masked_one() -> None:
    outputs = ["pushed abc1234 in 3s", "pushed 9f8e7d6 in 4s", "totally different"]
    assert representative_output(outputs) == "pushed {git_sha} in {number}"
    assert mask_text("at 10.0.0.1:8080") == "at {ip}"


def test_repeated_output_lines_are_counted_not_repeated() -> None:
    output = "push refers to repo\n" + "abc1234: Layer already exists\n" * 5 + "abc1234: digest: sha256:" + "a" * 64
    assert representative_output([output]) == (
        "push refers to repo\n{git_sha}: Layer already exists  (x5)\n{git_sha}: digest: {digest}"
    )
