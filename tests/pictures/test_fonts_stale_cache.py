"""A font installed after matplotlib cached its font list is found: the list is rebuilt once (issue 21, item 3)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

# label_fonts in a fresh process whose home and matplotlib cache are the test's own folders.
FIND = """
import json, logging, sys
from ignite_fire.metrics import TIANCHI_F1_WEIGHTS
from ignite_fire.pictures.fonts import label_fonts
print(json.dumps(label_fonts(list(TIANCHI_F1_WEIGHTS)).families))
"""


def cjk_font_file() -> Path | None:
    """A CJK font file on this machine: $IGNITE_FIRE_CJK_FONT, or one under /usr/share/fonts (fonts-noto-cjk)."""
    if os.environ.get("IGNITE_FIRE_CJK_FONT"):
        return Path(os.environ["IGNITE_FIRE_CJK_FONT"])
    for pattern in ("**/NotoSansCJK-Regular.tt[cf]", "**/*CJK*.[ot]t[cf]", "**/wqy-*.tt[cf]"):
        found = sorted(Path("/usr/share/fonts").glob(pattern))
        if found:
            return found[0]
    return None


@pytest.mark.slow
def test_a_font_installed_after_the_font_list_was_cached_is_found(tmp_path: Path) -> None:
    source = cjk_font_file()
    if source is None or not source.is_file():
        pytest.skip("no CJK font file here (apt-get install fonts-noto-cjk, or set IGNITE_FIRE_CJK_FONT)")
    from matplotlib.ft2font import FT2Font

    family = FT2Font(str(source)).family_name
    home, cache = tmp_path / "home", tmp_path / "mplconfig"
    (home / ".fonts").mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "MPLCONFIGDIR": str(cache), "PYTHONPATH": str(REPO)}
    env.pop("XDG_DATA_HOME", None)
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True, timeout=1800)
    (cache_file,) = cache.glob("fontlist-*.json")
    # The font is "installed" now: in ~/.fonts. The cache must not know it (a system-wide copy too).
    installed = shutil.copy(source, home / ".fonts" / source.name)
    data = json.loads(cache_file.read_text())
    # nor any other CJK face: where fonts-noto-cjk is installed system-wide (as in CI), its other files
    # (Bold, Serif, ...) would draw the names from the stale list, and nothing would need a rebuild
    stale = [e for e in data["ttflist"] if Path(e["fname"]).name != source.name and "CJK" not in e["name"]]
    data["ttflist"] = stale
    cache_file.write_text(json.dumps(data))

    out = subprocess.run(
        [sys.executable, "-c", FIND], env=env, capture_output=True, text=True, check=True, timeout=1800
    )
    families = json.loads(out.stdout.strip().splitlines()[-1])
    assert families is not None, out.stderr
    rebuilt = json.loads(cache_file.read_text())["ttflist"]
    # the installed copy, or the system-wide one where fonts-noto-cjk is installed too (as in CI): either
    # way the stale list, which knew neither, was rebuilt
    faces = {entry["name"] for entry in rebuilt if Path(entry["fname"]).name == Path(installed).name}
    assert family in faces, "the cache file was rewritten with the installed font"
    assert families[1] in faces, f"{families} is not the installed font {sorted(faces)}"
    assert "findfont" not in out.stderr
