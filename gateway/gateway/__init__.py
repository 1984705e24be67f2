"""The GridCommons API gateway."""
