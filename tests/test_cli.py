"""The command line's own surface: help pages, mistyped options and warnings, run in this process."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pytest

from ignite_fire import cli
from ignite_fire.commands.options import check_options
from ignite_fire.errors import UserError
from tests.helpers import TINY_EXPERIMENT


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_main(capsys: pytest.CaptureFixture, *args: str) -> Result:
    capsys.readouterr()
    try:
        cli.main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=["--help", "-h", "no-arguments"])
def test_help_lists_every_command_with_one_line_and_no_fire_preamble(
    capsys: pytest.CaptureFixture, args: list[str]
) -> None:
    result = run_main(capsys, *args)
    assert result.code == 0 and "INFO" not in result.out + result.err
    listed = [line.split()[0] for line in result.out.split("commands:\n")[1].split("\n\n")[0].splitlines()]
    assert listed == list(cli.COMMANDS) and "bench" in listed
    for name, function in cli.COMMANDS.items():
        assert f"  {name}" in result.out and cli.summary(function) in result.out


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_command_help_shows_its_options_without_fire_preamble(capsys: pytest.CaptureFixture, command: str) -> None:
    result = run_main(capsys, command, "--help")
    assert result.code == 0 and "INFO" not in result.out + result.err
    assert f"ignite_fire {command} - {cli.summary(cli.COMMANDS[command])}" in result.out


def test_bench_mode_help_shows_the_modes_options(capsys: pytest.CaptureFixture) -> None:
    result = run_main(capsys, "bench", "train", "-h")
    assert result.code == 0 and "ignite_fire bench train - " in result.out and "--contenders" in result.out


@pytest.mark.parametrize("args", [[str(TINY_EXPERIMENT), "--help"], ["train", str(TINY_EXPERIMENT), "-h"]])
def test_experiment_help_lists_its_config_keys(capsys: pytest.CaptureFixture, args: list[str]) -> None:
    from ignite_fire.config import describe_keys
    from ignite_fire.experiment import load_experiment

    result = run_main(capsys, *args)
    assert result.code == 0 and result.err == ""
    keys = describe_keys(load_experiment(TINY_EXPERIMENT).config, title="config keys of tiny_experiment")
    assert keys in result.out and result.out.count("config keys") == 1
    assert "--batch_size" in result.out and "--image_size" in result.out


def test_sweep_and_graph_help_on_an_experiment_add_its_keys(capsys: pytest.CaptureFixture) -> None:
    for command in ("sweep", "graph"):
        result = run_main(capsys, command, str(TINY_EXPERIMENT), "--help")
        assert result.code == 0 and f"ignite_fire {command} - " in result.out
        assert f"usage: python -m ignite_fire {command} {TINY_EXPERIMENT}" in result.out
        assert "--batch_size" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "run", "--outptu=x"], "predict has no option --outptu; did you mean --output?"),
        (["sweep", str(TINY_EXPERIMENT), "--cuont=3"], "sweep has no option --cuont; did you mean --count?"),
        (["sweep-status", "runs/x", "--storag=y"], "sweep-status has no option --storag; did you mean --storage?"),
        (["bench", "train", "--stpes=3"], "bench train has no option --stpes; did you mean --steps?"),
        (["graph", str(TINY_EXPERIMENT), "--outptu", "x"], "graph has no option --outptu; did you mean --output?"),
    ],
)
def test_a_mistyped_option_is_one_line_with_the_closest_option(
    capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    result = run_main(capsys, *args)
    assert result.code == 2 and result.err == f"ignite_fire: error: {message}\n"


def test_a_mistyped_config_key_is_left_to_the_config(capsys: pytest.CaptureFixture) -> None:
    result = run_main(capsys, str(TINY_EXPERIMENT), "--batch_sise=3")
    assert result.code == 2
    assert result.err == "ignite_fire: error: unknown config key --batch_sise; did you mean --batch_size?\n"


def test_option_check_accepts_fire_negation_and_config_keys() -> None:
    def command(experiment: str, storage: str = "", **overrides: object) -> None: ...

    check_options(command, ["storage", "batch_size", "my_own_key", "compiel"], "command")
    check_options(lambda compile=False: None, ["nocompile"], "command")  # fire: --nocompile sets compile=False
    with pytest.raises(UserError, match=r"^command has no option --storgae; did you mean --storage\?$"):
        check_options(command, ["storgae"], "command")


def test_an_unknown_command_like_option_is_one_line(capsys: pytest.CaptureFixture) -> None:
    result = run_main(capsys, "--versoin")
    assert result.code == 2 and len(result.err.splitlines()) == 1
    assert result.err.startswith("ignite_fire: error: unknown command or option --versoin")


def test_warnings_are_one_line_without_source(capsys: pytest.CaptureFixture) -> None:
    run_main(capsys, "--help")  # configures the warning format, as every command does
    warnings.warn("something\nodd happened", RuntimeWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err == "ignite_fire: warning: something odd happened\n"
