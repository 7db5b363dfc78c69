"""The docs name only things that exist: every ``vireid_core.<module>[.<name>]``, every ``*.py``/``*.ipynb``
path and every relative Markdown link in README.md and docs/ resolves (modules import, attributes exist,
files exist). Files of the official BMIL code (Terminator8758/BMIL) that the docs cite are listed below."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
DOTTED = re.compile(r"\bvireid_core(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"(?<![\w/.*-])((?:[\w.-]+/)*[\w-]+\.(?:py|ipynb))(?![\w/])")
LINK = re.compile(r"\]\(([^)\s]+)\)")
# files of the official code (Terminator8758/BMIL, zesenwu23/USL-VI-ReID) and of other projects the docs cite
OFFICIAL = {
    "train_sysu.py",
    "train_regdb.py",
    "test_sysu.py",
    "test_regdb.py",
    "ChannelAug.py",
    "cm.py",
    "prepare_sysu.py",
    "prepare_regdb.py",
    "trainers.py",
    "evaluators.py",
    "faiss_rerank.py",
    "faiss_rerank_xmodal.py",
    "resnet_agw.py",
    "sampler.py",
    "preprocessor.py",
}
OUTPUTS = {"out.ipynb"}  # files a documented command writes


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def _file_exists(path: str, doc: Path) -> bool:
    bases = (ROOT, ROOT / "vireid_core", doc.parent)
    return (
        any((base / path).exists() for base in bases)
        or path.split("/")[-1] in OFFICIAL
        or path.startswith("clustercontrast/")
        or path in OUTPUTS
    )


def _names(pattern: re.Pattern) -> list[tuple[Path, str]]:
    return sorted({(doc, match) for doc in DOCS for match in pattern.findall(doc.read_text())})


@pytest.mark.parametrize("doc, name", _names(DOTTED), ids=lambda value: getattr(value, "name", value))
def test_dotted_names_resolve(doc: Path, name: str) -> None:
    assert _resolves(name), f"{doc.relative_to(ROOT)} names {name}, which does not exist"


def test_file_paths_and_links_exist() -> None:
    missing = [f"{doc.relative_to(ROOT)}: {path}" for doc, path in _names(PATH) if not _file_exists(path, doc)]
    for doc, target in _names(LINK):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        if not (doc.parent / target.split("#")[0]).exists():
            missing.append(f"{doc.relative_to(ROOT)}: link {target}")
    assert missing == []
