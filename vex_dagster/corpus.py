"""Passages of real text available offline: the Python reference in ``pydoc_data``.

Used to build the shipped sample dataset and to train and measure drift adapters,
so both run on the same corpus with nothing downloaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydoc_data.topics import topics


@dataclass(frozen=True)
class Passage:
    id: str
    topic: str
    part: int
    text: str


def python_doc_passages(min_words: int = 25, max_words: int = 160) -> list[Passage]:
    """Split every topic into paragraph-sized passages, in a stable order."""
    passages = []
    for topic in sorted(topics):
        paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", topics[topic])]
        buffer: list[str] = []
        part = 0
        for paragraph in paragraphs:
            buffer.append(paragraph)
            words = sum(len(b.split()) for b in buffer)
            if words >= min_words:
                text = " ".join(" ".join(buffer).split()[:max_words])
                passages.append(Passage(f"{topic}-{part}", topic, part, text))
                part += 1
                buffer = []
    return passages


#: rst underlines and doctest lines: markup and code, not prose
_NOT_PROSE = re.compile(r"\s*(>>>|\.\.\.|[-=~^*]{3,}\s*$)")
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]*[,.;:]?")


def prose(paragraph: str, min_words: int, max_words: int) -> str | None:
    """A docstring paragraph as one line of prose, or None if it is mostly code,
    formulas or parameter tables (under 60 % plain words) or shorter than ``min_words``."""
    words = " ".join(line for line in paragraph.splitlines() if not _NOT_PROSE.match(line)).split()
    if len(words) < min_words or sum(map(bool, map(_PLAIN_WORD.fullmatch, words))) < 0.6 * len(words):
        return None
    return " ".join(words[:max_words])


def docstring_passages(root: Path, prefix: str, *, skip: tuple[str, ...] = ("test", "tests"),
                       min_words: int = 12, max_words: int = 80) -> list[Passage]:
    """The prose paragraphs of the docstrings of every ``.py`` file under ``root``, read
    with ``ast`` (nothing is imported, so no module's import side effects run), in a
    stable order, each text once."""
    import ast

    seen: set[str] = set()
    passages = []
    for path in sorted(root.rglob("*.py")):
        if any(part in skip for part in path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        module = ".".join((prefix, *path.relative_to(root).with_suffix("").parts)).strip(".")
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for part, paragraph in enumerate(re.split(r"\n\s*\n", ast.get_docstring(node) or "")):
                text = prose(paragraph, min_words, max_words)
                if text and text not in seen:
                    seen.add(text)
                    passages.append(Passage(f"{module}:{getattr(node, 'name', 'module')}-{part}", module, part, text))
    return passages


def stdlib_docstring_passages(max_words: int = 80) -> list[Passage]:
    """The standard library's docstrings: thousands of real, varied English passages."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    return docstring_passages(root, "", skip=("test", "tests", "site-packages", "idlelib", "lib2to3"),
                              max_words=max_words)


def package_docstring_passages(package: str, max_words: int = 80) -> list[Passage]:
    """An installed package's docstrings (its source is read, never imported)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the corpus needs the package {package!r} installed "
                                  "(pip install -e '.[adapter-train]')")
    return docstring_passages(Path(next(iter(spec.submodule_search_locations))), package, max_words=max_words)


#: installed with the ``adapter-train`` extra; numerical and graph libraries with
#: long prose docstrings, which with the standard library give over 25,000 passages
CORPUS_PACKAGES = ("numpy", "scipy", "networkx")


def adapter_corpus(max_words: int = 80) -> list[str]:
    """The distinct passages that adapters are trained and measured on, sorted.

    Which versions were read matters (docstrings change): ``corpus_versions`` says.
    """
    passages = python_doc_passages(max_words=max_words) + stdlib_docstring_passages(max_words)
    for package in CORPUS_PACKAGES:
        passages += package_docstring_passages(package, max_words)
    return sorted({p.text for p in passages})


def corpus_versions() -> dict[str, str]:
    """Python's and each corpus package's version: what a remade corpus depends on."""
    import platform
    from importlib.metadata import version

    return {"python": platform.python_version(), **{p: version(p) for p in CORPUS_PACKAGES}}
