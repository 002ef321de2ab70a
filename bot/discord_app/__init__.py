"""citebot on Discord: slash commands for members and organizers, answered through KnowledgeService."""
