"""MOABB glue, result tables and plots; the ``neuroattn benchmark`` machinery."""
