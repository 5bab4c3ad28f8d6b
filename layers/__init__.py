"""Package data: the layer catalogue (catalog.toml) and the bundled Changshan demo workspace (changshan/).

Shipped inside the wheel so that an installed toolkit finds them wherever it runs; the analysis code reaches
them only through these two paths.
"""

from pathlib import Path

CATALOG_PATH = Path(__file__).resolve().parent / "catalog.toml"
DEMO_WORKSPACE = Path(__file__).resolve().parent / "changshan"
