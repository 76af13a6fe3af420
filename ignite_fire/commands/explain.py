"""The ``explain`` command: Grad-CAM overlays of a checkpoint's predictions for any images."""

from __future__ import annotations


def explain(
    checkpoint: str,
    input: str | None = None,  # noqa: A002  (the command-line flag --input)
    output: str = "gradcam",
    target: str | None = None,
    layer: str | None = None,
    batch_size: int = 16,
    device: str = "auto",
    experiment: str | None = None,
) -> None:
    """Write a Grad-CAM overlay of CHECKPOINT's prediction for every image in --input, into --output.

    CHECKPOINT is a checkpoint file or a run directory (its best checkpoint); --target=CLASS explains that
    class instead of the predicted one; --layer=NAME picks the module (default: the last conv block);
    --experiment=FILE: the run's experiment, when it defines its own build_model or build_transforms.
    """
    from ignite_fire.inference.explain import explain as write_overlays

    write_overlays(
        checkpoint,
        input=input,
        output=output,
        target=target,
        layer=layer,
        batch_size=batch_size,
        device=device,
        experiment=experiment,
    )
