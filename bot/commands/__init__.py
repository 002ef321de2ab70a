"""The `citebot` subcommands, grouped by what they work on; each module registers its own parsers."""
