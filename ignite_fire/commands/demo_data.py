"""The ``demo-data`` command: :func:`ignite_fire.data.demo.demo_data` from the command line."""

from __future__ import annotations


def demo_data(output: str = "data/demo", layout: str = "all", size: int = 32, seed: int = 0) -> None:
    """Write demo data from scikit-learn's digits: an ImageFolder and a Tianchi-layout set (no download).

    OUTPUT/folder/ holds train/<class>/ and val/<class>/; OUTPUT/tianchi/ holds train.txt with train/,
    and the test images A/ with A.txt (their order) and A_labels.txt (their classes). Five digits stand
    for the competition's five classes, imbalanced as there. A non-empty OUTPUT it did not write is refused.

    Args:
        output: the folder to write into (created; a layout already written there is kept).
        layout: "all", "folder" (ImageFolder) or "tianchi" (train.txt + train/, A.txt + A/).
        size: the side of the written images, in pixels.
        seed: which images go to training and which are held out.
    """
    from ignite_fire.data.demo import demo_data as write_demo_data

    write_demo_data(output, layout=layout, size=size, seed=seed)
