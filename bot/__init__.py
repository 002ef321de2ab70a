"""citebot's answering service, its CLI and its Discord app (depends on embeddings and knowledge)."""
