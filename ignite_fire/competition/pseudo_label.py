"""``pseudo-label``: a label file of the confident predictions of a cv's fold ensemble on unlabelled images.

    python -m ignite_fire pseudo-label runs/CV --input=A --list=A.txt --threshold=0.9 --output=pseudo.txt
    python -m ignite_fire cv experiments/x.py --folds=5 --name=CV2 --extra_train=pseudo.txt

Each image's class is the ensemble's decision (decision.json when the cv has one); the image is kept
when that class's averaged probability reaches ``--threshold``. The output is a Tianchi-layout label
file (``file_name<TAB>class``, names relative to the output's folder, so ``--extra_train`` finds the
images). Nothing is written into the images' folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ignite_fire.cv_dir import CV_FILE, expand_checkpoints, is_cv_dir
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment
from ignite_fire.files import check_outputs, output_folder, write_text_atomic
from ignite_fire.inference.decision import apply_decision, choose_decision, decision_text
from ignite_fire.inference.predict import (
    checkpoint_inputs,
    find_checkpoint,
    list_images,
    load_predictor,
    named_experiment,
    predict_images,
)

logger = logging.getLogger("ignite_fire")


def check_output(output: Path, root: Path) -> None:
    """The output must not be inside the images' folder (the test set stays untouched)."""
    if output.resolve().is_relative_to(root.resolve()):
        raise UserError(f"--output={output} is inside --input={root}: write the label file elsewhere")
    if output.is_dir():
        raise UserError(f"--output={output} is a folder: give a file name, e.g. {output / 'pseudo.txt'}")


def check_pseudo_output(
    output: Path,
    root: Path,
    list_file: Path | None,
    checkpoints: list[Path],
    decision_path: Path | None,
    cv_file: Path,
) -> None:
    """The label file is none of the inputs (:func:`ignite_fire.files.check_outputs`) and not in --input."""
    check_output(output, root)
    inputs = {**checkpoint_inputs(checkpoints), "--input": root, "CV_DIR": cv_file}
    if list_file is not None:
        inputs["--list"] = list_file
    if decision_path is not None:
        inputs["--decision"] = decision_path
    check_outputs({"--output": output}, inputs)


def pseudo_label(
    cv_dir: str,
    input: str | None = None,  # named for the command-line flag --input
    list: str | None = None,  # named for the command-line flag --list (shadows the builtin here)
    threshold: float = 0.9,
    output: str = "pseudo.txt",
    tta: str | None = None,
    decision: str | None = "auto",
    device: str = "auto",
    num_workers: int = 0,
    experiment: str | Experiment | None = None,
    members: str = "auto",
) -> dict[str, int]:
    """Write OUTPUT with the images of --input whose cv-ensemble probability reaches --threshold.

    Train on them with --extra_train=OUTPUT: they only ever go to training, never to validation or the OOF.
    Returns the counts (images, kept).

    Args:
        cv_dir: a directory written by the cv command (its refits, else its folds, are the ensemble).
        input: the folder of images (default: the --list file's name without .txt, e.g. A.txt -> A/).
        list: a file naming the images (``file_name[<TAB>anything]`` lines).
        threshold: the probability an image's predicted class must reach to be kept.
        output: the label file to write (Tianchi layout, ``file_name<TAB>class`` lines).
        tta: TTA modes (hflip, scales, five_crop; comma-separated).
        decision: "auto" (the cv directory's decision.json), "none" (plain argmax) or a decision.json file.
        device: "auto", "cpu", "cuda", "cuda:1", ...
        num_workers: DataLoader worker processes.
        experiment: the cv's experiment .py file, when it defines its own build_model or build_transforms
            (a checkpoint never names code to run: only this option imports an experiment).
        members: the models averaged: "auto" (the refits if any, else the folds), "refit", "folds" or "all".
    """
    from ignite_fire.devices import resolve_device

    if not is_cv_dir(cv_dir):
        raise UserError(f"{cv_dir} is not a cv directory (no cv.json): pass the directory the cv command wrote")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise UserError(f"--threshold must be a probability in (0, 1], got {threshold!r}")
    list_file = Path(str(list)).expanduser() if list is not None else None
    root = Path(str(input)).expanduser() if input is not None else None
    if root is None or not root.is_dir():
        raise UserError(f"--input folder not found: {root} (the unlabelled images)")
    output_path = Path(str(output)).expanduser()
    specs, cv_decision = expand_checkpoints([cv_dir], members)
    chosen, decision_path = choose_decision(decision, cv_decision)
    checkpoints = [find_checkpoint(spec) for spec in specs]
    check_pseudo_output(output_path, root, list_file, checkpoints, decision_path, Path(cv_dir) / CV_FILE)
    names = list_images(root, list_file)
    torch_device = resolve_device(str(device))
    rebuild = named_experiment(experiment)
    predictors = [load_predictor(path, torch_device, rebuild) for path in checkpoints]
    classes = predictors[0].classes
    logger.info(f"pseudo-label: {len(names)} images, {len(predictors)} models; {decision_text(chosen, decision_path)}")
    probabilities, _ = predict_images(predictors, root, names, torch_device, tta, num_workers=int(num_workers))
    decided = apply_decision(probabilities, chosen, classes) if chosen else probabilities.argmax(dim=1)
    confidence = probabilities.gather(1, decided[:, None])[:, 0]
    keep = (confidence >= threshold).nonzero()[:, 0].tolist()
    lines = [f"{os.path.relpath(root / names[i], output_path.parent)}\t{classes[decided[i]]}\n" for i in keep]
    with output_folder(output_path.parent):  # a failed write leaves no empty folder
        write_text_atomic(output_path, "".join(lines))
    counts = {name: int((decided[keep] == c).sum()) for c, name in enumerate(classes)} if keep else {}
    counts = {name: counts.get(name, 0) for name in classes}
    logger.info(
        f"pseudo-label: wrote {output_path}: {len(keep)} of {len(names)} images at probability >= {threshold}; "
        + ", ".join(f"{name} {n}" for name, n in counts.items())
    )
    return counts
