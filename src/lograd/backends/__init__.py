"""lograd.backends."""
