"""Embedding: re-embedding through OpenAI-compatible endpoints, and offline models."""
