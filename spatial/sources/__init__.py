"""Sources: files (:mod:`spatial.sources.files`), PostGIS (:mod:`spatial.sources.postgis`), workspaces.

Importing the package registers the PostGIS reader with :func:`spatial.sources.files.read_layer`, so a
``postgresql://`` URL is read wherever a file path is.
"""

from spatial.sources import files, postgis  # noqa: F401  (postgis registers its URL reader with files)
