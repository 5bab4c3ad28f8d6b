"""生态空间规划工具包 — ecological spatial-planning toolkit (analysis package)."""

__version__ = "0.1.0"
