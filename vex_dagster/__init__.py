"""Vex: move vector embeddings between stores through the open `.vmig.jsonl` format.

The core (``vmig``, ``stores``, ``embed``, ``adapter``, ``pipeline``) never imports
Dagster; the ``vex`` CLI and the Dagster assets both call it.
"""

__version__ = "1.0.0"
