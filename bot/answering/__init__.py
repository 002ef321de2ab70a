"""From retrieved passages to a cited answer: features, the learned scorer, examples, pins."""
