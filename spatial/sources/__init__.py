"""Sources: files (:mod:`spatial.sources.files`, which also reads PostGIS URLs through
:mod:`spatial.sources.postgis`), boundary points, coordinate tables, workspaces."""
