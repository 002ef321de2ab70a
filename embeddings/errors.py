"""Errors of the embeddings package, written for the operator who will read them."""
from __future__ import annotations

from knowledge.errors import CitebotError


class EmbeddingsError(CitebotError):
    """Base class for problems of the model and the index that the operator can fix."""


class EncoderError(EmbeddingsError):
    """The embedding model could not be found, exported or loaded."""
