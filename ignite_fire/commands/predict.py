"""The ``predict`` command: :func:`ignite_fire.inference.predict.predict` from the command line."""

from __future__ import annotations


def predict(
    *checkpoints: str,
    input: str | None = None,  # named for the command-line flag --input
    list: str | None = None,  # named for the command-line flag --list (shadows the builtin here)
    output: str = "submission.txt",
    probabilities: str | None = None,
    tta: str | None = None,
    tta_scales: tuple[float, ...] = (0.875, 1.0, 1.125),
    batch_size: int = 64,
    device: str = "auto",
    num_workers: int | None = None,
    on_bad_image: str = "error",
    decision: str | None = "auto",
    backend: str = "torch",
) -> None:
    """Predict the images in --input with CHECKPOINT(s); write the Tianchi submission and probabilities.csv.

    Args:
        checkpoints: checkpoint files, run directories (their best checkpoint), a cv directory (its folds'
            best checkpoints and its decision.json) or .onnx files from `export` (with
            --backend=onnxruntime); several are averaged.
        input: the folder of images (default: the --list file's name without .txt, e.g. A.txt -> A/).
        list: a file naming the images in submission order (``file_name[<TAB>anything]`` lines).
        output: the submission file (UTF-8, ``file_name<TAB>class`` lines).
        probabilities: the probabilities CSV (default: probabilities.csv beside the output).
        tta: None, or TTA modes hflip, scales, five_crop, combined as hflip,scales (probabilities averaged).
        tta_scales: the image scales of the "scales" mode.
        batch_size: images per batch.
        device: "auto", "cpu", "cuda", "cuda:1", ...
        num_workers: DataLoader worker processes (default: min(8, CPU count)).
        on_bad_image: "error" (stop, naming the file) or "skip" (leave it out of the submission).
        decision: "auto" (a cv directory's decision.json), "none" (plain argmax) or a decision.json file.
        backend: "torch" (checkpoints) or "onnxruntime" (.onnx files written by ``export``).
    """
    from ignite_fire.inference.predict import predict as run_predict

    run_predict(
        *checkpoints,
        input=input,
        list=list,
        output=output,
        probabilities=probabilities,
        tta=tta,
        tta_scales=tta_scales,
        batch_size=batch_size,
        device=device,
        num_workers=num_workers,
        on_bad_image=on_bad_image,
        decision=decision,
        backend=backend,
    )
