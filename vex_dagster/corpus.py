"""Passages of real text available offline: the Python reference in ``pydoc_data``.

Used to build the shipped sample dataset and to train and measure drift adapters,
so both run on the same corpus with nothing downloaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def stdlib_docstring_passages(min_words: int = 12, max_words: int = 160) -> list[Passage]:
    """Docstrings of the standard library's own source, read with ``ast`` (nothing is
    imported, so no module's import side effects run): tens of thousands of real,
    varied English passages, offline."""
    import ast
    import sysconfig
    from pathlib import Path

    root = Path(sysconfig.get_paths()["stdlib"])
    seen: set[str] = set()
    passages = []
    for path in sorted(root.rglob("*.py")):
        if any(part in ("test", "tests", "site-packages", "idlelib", "lib2to3") for part in path.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            doc = ast.get_docstring(node)
            for part, paragraph in enumerate(re.split(r"\n\s*\n", doc or "")):
                text = " ".join(paragraph.split()[:max_words])
                if len(text.split()) >= min_words and text not in seen:
                    seen.add(text)
                    name = getattr(node, "name", "module")
                    passages.append(Passage(f"{module}:{name}-{part}", module, part, text))
    return passages
