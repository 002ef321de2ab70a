"""Answers as people read them: in the terminal, and the parts Discord embeds share."""
