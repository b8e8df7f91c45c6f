"""Subcommands of the ``neuroattn`` CLI, one module each (see :mod:`neuroattn.cli`)."""
