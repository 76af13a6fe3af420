"""The command line answers help and config errors without importing torch, torchvision, Ignite or matplotlib.

Those imports cost seconds of CPU; a user asking for ``--help`` or mistyping a key should not wait for
them. Each case runs ``ignite_fire.cli.main`` in a fresh interpreter (torch is loaded in this one) and
reports which heavy packages it imported.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ignite_fire.experiment import literal_config

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = "experiments/quickstart.py"  # imports torch and torchvision at its top
HEAVY = ["torch", "torchvision", "ignite", "matplotlib"]

RUN_CASES = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from ignite_fire.cli import main

    results = []
    for args in json.loads(sys.argv[1]):
        out = io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                main(args)
            except SystemExit as exit:
                code = exit.code
        heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
        results.append({"code": code, "out": out.getvalue(), "heavy": heavy})
    print(json.dumps(results))
    """
)

# (arguments, exit code, a line the output must contain)
CASES = [
    (["--help"], 0, "commands:"),
    (["predict", "--help"], 0, "--output=OUTPUT"),
    (["cv", "--help"], 0, "--decision_metric=DECISION_METRIC"),
    (["sweep", "--help"], 0, "--count=COUNT"),
    (["bench", "train", "--help"], 0, "--contenders=CONTENDERS"),
    ([EXPERIMENT, "--help"], 0, "--epochs=8"),
    (["cv", EXPERIMENT, "--help"], 0, "--epochs=8"),
    ([EXPERIMENT, "--epochs=abc"], 2, "--epochs='abc' has the wrong type"),
    ([EXPERIMENT, "--epohcs=3"], 2, "unknown config key --epohcs; did you mean --epochs?"),
    ([EXPERIMENT, "--epochs=0"], 2, "--epochs=0 is out of range"),
    ([EXPERIMENT, "--optimizer=Adamm"], 2, "--optimizer='Adamm' is not allowed"),
    (["predict", "--outptu=x"], 2, "predict has no option --outptu; did you mean --output?"),
]


def run_cases(cases: list[list[str]]) -> list[dict]:
    process = subprocess.run(
        [sys.executable, "-c", RUN_CASES, json.dumps(cases), json.dumps(HEAVY)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,  # only to catch a hang
        check=True,
    )
    return json.loads(process.stdout)


@pytest.mark.slow
def test_help_and_config_errors_do_not_import_torch() -> None:
    # Every case first in its own process: each must be light on its own.
    for (args, code, expected), result in zip(CASES, [run_cases([args])[0] for args, _, _ in CASES], strict=True):
        assert result["heavy"] == [], f"{args} imported {result['heavy']}"
        assert result["code"] == code and expected in result["out"], (args, result)


@pytest.mark.slow
def test_every_command_help_is_torch_free() -> None:
    from ignite_fire.cli import COMMANDS

    results = run_cases([[name, "--help"] for name in COMMANDS])
    for name, result in zip(COMMANDS, results, strict=True):
        assert result["code"] == 0 and f"ignite_fire {name} - " in result["out"], (name, result["out"][-300:])
    assert results[-1]["heavy"] == []  # sys.modules only grows: none of them imported a heavy package


def test_literal_config_is_the_config_the_module_defines(tmp_path: Path) -> None:
    for experiment in sorted((REPO / "experiments").glob("*.py")):  # what the CLI reads = what running defines
        assert literal_config(experiment) == runpy.run_path(str(experiment))["config"], experiment.name
    built = tmp_path / "built.py"
    built.write_text("EPOCHS = 3\nconfig = {'epochs': EPOCHS}\n", encoding="utf-8")
    changed = tmp_path / "changed.py"
    changed.write_text("config = {'epochs': 3}\nconfig['epochs'] = 4\n", encoding="utf-8")
    changed_by_call = tmp_path / "changed_by_call.py"
    changed_by_call.write_text("config = {'epochs': 3}\n\ndef tweak():\n    config['epochs'] = 4\n\ntweak()\n")
    factory = tmp_path / "factory.py"
    factory.write_text("config = {'epochs': 3}\n\ndef build_model(config, num_classes):\n    return config['x']\n")
    assert [literal_config(p) for p in (built, changed, changed_by_call)] == [None, None, None]
    assert literal_config(factory) == {"epochs": 3}  # a factory reads its own argument, later



@pytest.mark.slow  # starts a process
def test_help_into_a_reader_that_left_is_quiet() -> None:
    """`python -m ignite_fire audit --help | head -3`: the reader closes the pipe; no BrokenPipeError traceback."""
    from tests.helpers import HANG_TIMEOUT, REPO

    process = subprocess.Popen(
        [sys.executable, "-m", "ignite_fire", "audit", "--help"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before anything is written
    stderr = process.stderr.read()
    process.wait(timeout=HANG_TIMEOUT)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert process.returncode == 1
