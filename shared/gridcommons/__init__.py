"""GridCommons kernel library: each cross-cutting mechanism of the platform, once."""
