"""One error hierarchy: every failure the toolkit can explain derives from :class:`SpatialError`.

The library never prints; the CLI turns a :class:`SpatialError` into its message on stderr and exit code 2.
Each message names the file (and the feature or line) and the fix.
"""

from __future__ import annotations

__all__ = ["SpatialError", "InputError", "BoundaryPointError", "CatalogError", "MapError", "OfflineError"]


class SpatialError(Exception):
    """Root of the toolkit's errors."""


class InputError(SpatialError):
    """An input that cannot be used as given; the message names the file (and feature) and the fix."""


class BoundaryPointError(InputError, ValueError):
    """A boundary-point file that cannot be read; the message names the file, the line and the fix."""


class CatalogError(SpatialError, ValueError):
    """The layer catalogue (catalog.toml) is inconsistent; the message names the entry to correct."""


class MapError(SpatialError, ValueError):
    """A map cannot be made as asked; the message says what to change."""


class OfflineError(SpatialError, RuntimeError):
    """The page links a resource with no vendored copy, or still refers to the network."""
