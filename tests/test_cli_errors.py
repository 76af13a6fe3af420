"""Every mistake a user can make on the command line is one line on stderr, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO, TINY_EXPERIMENT, run_cli, tiny_args


@dataclass
class Result:
    returncode: int
    stderr: str


@pytest.fixture
def cli(capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the CLI in this process (fast); two tests below check a real subprocess too."""
    from ignite_fire.cli import main

    def run(*args: str, env: dict | None = None) -> Result:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capfd.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        return Result(code, capfd.readouterr().err)

    return run


def one_line_error(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ignite_fire: error: ")
    return lines[0].removeprefix("ignite_fire: error: ")


@pytest.mark.slow
def test_missing_experiment_file() -> None:
    message = one_line_error(run_cli("experiments/nope.py"))
    assert message.startswith("experiment file not found: experiments/nope.py")


def test_syntax_error_names_file_and_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    experiment = tmp_path / "broken.py"
    experiment.write_text("config = {\n    'epochs': 2,\n    'model' 'resnet18',\n}\n")
    message = one_line_error(cli(str(experiment)))
    assert message.startswith(f"syntax error in experiment {experiment}:3")


def test_import_error_names_file_and_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    experiment = tmp_path / "imports.py"
    experiment.write_text("import os\nimport no_such_module_here\nconfig = {}\n")
    message = one_line_error(cli(str(experiment)))
    assert message.startswith(f"error in experiment {experiment}:2: ModuleNotFoundError")
    assert "no_such_module_here" in message


def test_unknown_key_suggests_the_closest(cli: Callable[..., Result], digits_dir: Path, tmp_path: Path) -> None:
    message = one_line_error(cli(str(REPO / "experiments" / "resnet18_baseline.py"), "--learnin_rate=0.1"))
    assert message == "unknown config key --learnin_rate; did you mean --learning_rate?"


def test_wrong_type(cli: Callable[..., Result], tmp_path: Path) -> None:
    message = one_line_error(cli(str(TINY_EXPERIMENT), "--epochs=two"))
    assert message == "--epochs='two' has the wrong type: expected int, got str"


def test_bad_choice(cli: Callable[..., Result], tmp_path: Path) -> None:
    message = one_line_error(cli(str(TINY_EXPERIMENT), "--amp=fp8"))
    assert message.startswith("--amp='fp8' is not allowed: choose one of 'auto', 'bf16', 'fp16', False")


def test_unknown_model_lists_valid_ones(cli: Callable[..., Result], digits_dir: Path, tmp_path: Path) -> None:
    args = tiny_args(digits_dir, tmp_path, "m")
    args[0] = str(REPO / "experiments" / "resnet18_baseline.py")
    message = one_line_error(cli(*args, "--model=resnet19", "--pretrained=False"))
    assert message.startswith("unknown model 'resnet19': try one of resnet18")


def test_missing_data_dir(cli: Callable[..., Result], tmp_path: Path) -> None:
    message = one_line_error(cli(*tiny_args(tmp_path / "nothing", tmp_path, "d")))
    assert message == f"data_dir not found: {tmp_path / 'nothing'} (pass --data_dir=PATH to your images)"


def test_data_dir_that_is_a_file(cli: Callable[..., Result], tmp_path: Path) -> None:
    not_a_folder = tmp_path / "images.zip"
    not_a_folder.write_bytes(b"PK")
    message = one_line_error(cli(*tiny_args(not_a_folder, tmp_path, "d")))
    assert message == f"data_dir is not a folder: {not_a_folder}"


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root reads every folder, so permissions cannot be tested")
def test_unreadable_data_dir(cli: Callable[..., Result], tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        message = one_line_error(cli(*tiny_args(locked, tmp_path, "d")))
    finally:
        locked.chmod(0o755)
    assert message.startswith(f"data_dir is not readable: {locked}")


def test_output_dir_that_cannot_be_written(cli: Callable[..., Result], digits_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    message = one_line_error(cli(*tiny_args(digits_dir, blocker / "runs", "o")))
    assert message.startswith(f"output directory {blocker / 'runs' / 'o'} cannot be written")


def test_pretrained_weights_missing_offline(cli: Callable[..., Result], digits_dir: Path, tmp_path: Path) -> None:
    args = tiny_args(digits_dir, tmp_path, "p")
    args[0] = str(REPO / "experiments" / "resnet18_baseline.py")
    result = cli(*args, "--image_size=16", "--epochs=1", env={"TORCH_HOME": str(tmp_path / "torch")})
    message = one_line_error(result)
    assert message.startswith("pretrained weights for resnet18 are not cached: put resnet18-")
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message and "--pretrained=False" in message


@pytest.mark.slow
def test_existing_run_needs_resume(cli: Callable[..., Result], digits_dir: Path, tmp_path: Path) -> None:
    assert cli(*tiny_args(digits_dir, tmp_path, "twice", "--epochs=1")).returncode == 0
    message = one_line_error(cli(*tiny_args(digits_dir, tmp_path, "twice", "--epochs=1")))
    assert (
        message
        == f"{tmp_path / 'twice'} already holds a run: pass --resume=auto to continue it, or choose another --name"
    )


@pytest.mark.slow
def test_checkpoint_of_another_model_names_the_mismatch(
    cli: Callable[..., Result], digits_dir: Path, tmp_path: Path
) -> None:
    assert cli(*tiny_args(digits_dir, tmp_path, "a", "--epochs=1", "--stop_after_epoch=1")).returncode == 0
    args = tiny_args(digits_dir, tmp_path, "a", "--epochs=2", "--resume=auto")
    args[0] = str(REPO / "experiments" / "resnet18_baseline.py")
    message = one_line_error(cli(*args, "--pretrained=False", "--image_size=16", "--num_workers=0"))
    assert "is from a different model" in message and "check --model" in message


@pytest.mark.slow
def test_debug_shows_the_traceback() -> None:
    result = run_cli("experiments/nope.py", "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "UserError: experiment file not found" in result.stderr
