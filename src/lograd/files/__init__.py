"""lograd.files."""
