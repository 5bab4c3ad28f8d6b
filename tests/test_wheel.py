"""The package works anywhere: a wheel built from the repo, installed into a fresh virtual environment outside
the repo and run from another folder, has its catalogue, demo workspace and map scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist)], check=True, cwd=base)
    wheel = next(dist.glob("eco_spatial_planning-*.whl"))
    env_dir = base / "venv"
    # the dependencies come from this interpreter's site-packages; the package itself only from the wheel
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return wheel, python, base


def _run(python: Path, code: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True, cwd=cwd, env=env)
    return out.stdout


def test_wheel_carries_the_package_data(wheel_env):
    wheel, _, _ = wheel_env
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "layers/catalog.toml" in names
    assert "layers/changshan/workspace.toml" in names and "layers/changshan/changshan.gpkg" in names
    assert "maps/vendor/leaflet/dist/leaflet.js" in names


def test_installed_wheel_runs_check_file_and_the_demo(wheel_env):
    _, python, base = wheel_env
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import json, spatial, layers\n"
        "from spatial.cli.main import main\n"
        "txt = layers.DEMO_WORKSPACE / 'projects' / '四省边际生态文化旅游小镇.txt'\n"
        "r = spatial.check_file(txt, project_type='tourism')\n"
        "print(json.dumps({'file': spatial.__file__, 'catalog': r.settings['catalog'],"
        " 'verdicts': r.summary['verdict'].tolist(), 'area_m2': float(r.summary['area_m2'].iloc[0])}))\n"
    )
    info = json.loads(_run(python, code, elsewhere).strip().splitlines()[-1])
    assert str(ROOT) not in info["file"] and "site-packages" in info["file"]
    assert "site-packages" in info["catalog"]
    assert info["verdicts"] == ["needs_approval"]
    assert info["area_m2"] > 3e6          # the 3.59 km² tourism town
    demo = subprocess.run([str(python), "-m", "spatial", "demo", "--out", "site"], cwd=elsewhere,
                          capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr[-2000:]
    site = elsewhere / "site"
    for rel in ("index.html", "maps/workspace.html", "check/summary.csv", "check/report.html",
                "indicators/indicators.csv", "conflicts/conflicts.csv"):
        assert (site / rel).stat().st_size > 0, rel
    assert "leaflet" in (site / "maps" / "workspace.html").read_text(encoding="utf-8").lower()
