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
