"""Several network sources at once."""
