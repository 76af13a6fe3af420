"""The docs: generated reference pages up to date, every key and command documented, every page reachable."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

from ignite_fire.cli import COMMANDS
from ignite_fire.config import SCHEMA

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "tools" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def handwritten_text() -> str:
    """Every docs page except the generated reference, and the README."""
    pages = [p for p in DOCS.rglob("*.md") if "reference" not in p.relative_to(DOCS).parts]
    return "\n".join(p.read_text(encoding="utf-8") for p in [*pages, REPO / "README.md"])


def test_the_generated_reference_pages_are_what_the_script_writes_now() -> None:
    for path, text in gen_docs().pages().items():
        committed = path.read_text(encoding="utf-8") if path.is_file() else None
        assert committed == text, f"{path.relative_to(REPO)} is out of date: run python tools/gen_docs.py"


def test_the_reference_names_every_key_and_every_command() -> None:
    config_page = (DOCS / "reference" / "config.md").read_text(encoding="utf-8")
    cli_page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert [key for key in SCHEMA if f"| `{key}` |" not in config_page] == []
    assert [name for name in COMMANDS if f"\n## {name}\n" not in cli_page] == []


def test_every_key_and_every_command_is_explained_on_a_written_page_too() -> None:
    text = handwritten_text()
    assert [key for key in SCHEMA if not re.search(rf"(`|--){re.escape(key)}\b", text)] == []
    assert [name for name in COMMANDS if not re.search(rf"ignite_fire {re.escape(name)}\b|`{name}`", text)] == []


def test_the_generator_takes_a_function_or_a_lazy_import_string() -> None:
    resolve = gen_docs()._resolve
    from ignite_fire.commands.lazy import read_command

    assert resolve(len) is len
    stand_in = resolve("ignite_fire.inference.predict:predict")  # read from the source, not imported
    assert stand_in.__doc__ == read_command("ignite_fire.inference.predict:predict").__doc__
    assert "checkpoints" in str(inspect.signature(stand_in))


def test_the_args_section_gives_each_option_its_meaning() -> None:
    page = gen_docs().cli_page()
    assert "| `--list` | `None` | a file naming the images in submission order" in page
    predict_section = page.split("## predict", 1)[1].split("\n## ", 1)[0]
    assert "cv directories" in predict_section and "onnx" in predict_section


def test_no_page_names_the_development_data_and_every_page_is_in_the_nav() -> None:
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert [page for page in pages if f": {page}" not in nav] == []
    for path in [*DOCS.rglob("*.md"), REPO / "README.md"]:
        assert "../shared" not in path.read_text(encoding="utf-8"), path


def test_the_readme_is_short() -> None:
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 300
