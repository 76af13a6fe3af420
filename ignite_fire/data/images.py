"""Reading image files: EXIF orientation first, RGB, and one clear error per unreadable file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from ignite_fire.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


class BadImageError(UserError):
    """An image file that cannot be decoded."""


def load_image(path: str | Path, draft_size: int | None = None) -> Image.Image:
    """Decode ``path`` as RGB with its EXIF orientation applied.

    ``draft_size``: for JPEGs, let the decoder scale down by 1/2, 1/4 or 1/8 while decoding, as
    long as both sides stay >= ``draft_size`` (much faster for camera-size photos).
    """
    try:
        with Image.open(path) as image:  # raises DecompressionBombError above twice MAX_IMAGE_PIXELS
            check_pixel_count(image, path)  # and this above MAX_IMAGE_PIXELS (PIL only warns there)
            if draft_size is not None and image.format == "JPEG":
                image.draft("RGB", (draft_size, draft_size))
            ImageOps.exif_transpose(image, in_place=True)  # decodes; no copy of the (possibly large) image
            return image if image.mode == "RGB" else image.convert("RGB")
    except Image.DecompressionBombError as error:  # over twice the limit
        raise BadImageError(
            f"cannot read image {path}: over twice PIL's limit of {Image.MAX_IMAGE_PIXELS} pixels (a decompression "
            "bomb?); shrink or remove the file, or pass --on_bad_image=skip"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImageError(
            f"cannot read image {path}: {error}; fix or remove the file, or pass --on_bad_image=skip"
        ) from error


def check_pixel_count(image: Image.Image, path: str | Path) -> None:
    """A :class:`BadImageError` for an image larger than ``PIL.Image.MAX_IMAGE_PIXELS`` (a decompression bomb)."""
    limit = Image.MAX_IMAGE_PIXELS
    pixels = image.width * image.height
    if limit is not None and pixels > limit:
        raise BadImageError(
            f"cannot read image {path}: {image.width}x{image.height} is {pixels} pixels, over PIL's limit of "
            f"{limit} (a decompression bomb?); shrink or remove the file, or pass --on_bad_image=skip"
        )


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")
