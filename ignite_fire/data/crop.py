"""The evaluation crop: one ratio that the eval transform, the memory cache, JPEG draft decoding and
five-crop TTA all share. Torch-free, so the config schema can name it in its help text.

The eval transform resizes the shorter side to ``image_size / EVAL_CROP`` and keeps the centre
``image_size`` square (the ImageNet convention, 224 of 256); the cache must store exactly those
pixels, so both compute the side with :func:`resize_size`::

    from ignite_fire.data.crop import EVAL_CROP, resize_size

    resize_size(224)  # 256
"""

from __future__ import annotations

EVAL_CROP = 0.875  # the centre crop's side / the resized shorter side


def resize_size(image_size: int) -> int:
    """The shorter side the evaluation transform resizes to before its centre crop (``image_size / EVAL_CROP``)."""
    return round(int(image_size) / EVAL_CROP)
