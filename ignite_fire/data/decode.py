"""Fast decoding: JPEG draft mode, and decode-once-to-a-square for the memory cache.

A 1080p phone photo takes 6-9 ms to decode and resize on one core. When the training size is
much smaller, PIL's JPEG *draft mode* lets libjpeg scale the image down by 1/2, 1/4 or 1/8
while decoding (in the DCT domain, so it costs a fraction of a full decode and the resize
after it is small). With ``jpeg_draft=True`` (the default) the datasets ask for a draft no
smaller than :func:`resize_size` on both sides, the size the evaluation transform resizes to, so
validation images lose nothing; PNGs and other formats decode as before.

Example::

    from ignite_fire.choices import resize_size
    from ignite_fire.data.decode import decode_square

    side = resize_size(224)  # 256
    pixels = decode_square("photo.jpg", side, crop_size=224)  # (256, 256, 3) uint8, numpy
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torchvision.transforms.functional as F

from ignite_fire.choices import resize_size
from ignite_fire.data.images import load_image


def draft_size(image_size: int, jpeg_draft: bool) -> int | None:
    """The JPEG draft size the datasets decode at: :func:`resize_size`, or None when ``jpeg_draft`` is off."""
    return resize_size(image_size) if jpeg_draft else None


def centered_offset(length: int, crop: int) -> int:
    """Where torchvision's ``CenterCrop`` starts a ``crop`` window in ``length`` pixels."""
    return int(round((length - crop) / 2.0))


def decode_square(path: str | Path, side: int, crop_size: int, draft: bool = True) -> np.ndarray:
    """Decode ``path``, resize its shorter side to ``side`` and cut a ``side`` x ``side`` square: (H, W, 3) uint8.

    The square is placed so that its centre ``crop_size`` window is exactly what the evaluation
    transform (resize to ``side``, ``CenterCrop(crop_size)``) would give, pixel for pixel.
    """
    image = load_image(path, side if draft else None)
    image = F.resize(image, side, antialias=True)
    width, height = image.size

    def start(length: int) -> int:
        wanted = centered_offset(length, crop_size) - centered_offset(side, crop_size)
        return min(max(wanted, 0), length - side)

    left, top = start(width), start(height)
    image = image.crop((left, top, left + side, top + side))
    return np.asarray(image, dtype=np.uint8)
