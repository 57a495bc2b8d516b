"""The wheel as a data team installs it: no extras, beside the Dagster they already run.

Builds the wheel from this checkout, checks what it ships and declares, then installs it
into clean virtualenvs that already hold a release set a team may run: the oldest one
this package declares (dagster 1.13.20 + dagster-dbt 0.29.20 + dbt-core 1.10 +
dbt-postgres) and the newest one the registry has. In each, the install must leave the
team's versions alone and pull no optional part (web servers, the demo's warehouse, the
emulator), the Dagster layer must import, a small code location must load with
`dagster definitions validate` (run by the probe, in the interpreter that imported the
layer), and a feature whose extra is missing must say which extra to install.

Speed: each venv is cached in the user's cache folder (`$XDG_CACHE_HOME` or `~/.cache`,
then `dot-orchestration/compat-venvs`; `DOT_COMPAT_VENVS` overrides), outside the checkout so
that every clone on a machine (CI's fresh clone included) reuses it, keyed by a hash of its
requirement set and of the wheel's declared dependencies. A changed dependency makes a new
venv (and removes the set's old one): ~5 min a set (downloads and ~100 installs), once per
machine. The wheel is cached there too, keyed by a hash of the sources it is built from,
so an unchanged checkout (CI's next fresh clone) builds none; a venv records the hash of
the wheel it holds, and reinstalls it (`--no-deps`, then `pip check` if the wheel's
requirements changed) only when that differs. A cached run then costs what the tests
themselves run: per set one interpreter, the probe then `dagster definitions validate`.
"""

import email.parser
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _probe import ProbeRun, assert_core_only, probe
from filelock import FileLock
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: Creating a venv (first run, or after a dependency change) downloads and installs ~100
#: packages: allow it more than the suite's default timeout.
pytestmark = pytest.mark.timeout(1500)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = Path(
    os.environ.get("DOT_COMPAT_VENVS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "dot-orchestration"
    / "compat-venvs"
)
#: What a core install must never pull: the emulator, the demo, the web server, `dg`.
FORBIDDEN = frozenset(
    canonicalize_name(n)
    for n in (
        "fastapi",
        "uvicorn",
        "dbt-duckdb",
        "duckdb",
        "psycopg2-binary",
        "dagster-webserver",
        "dagster-dg-cli",
        "dagster-postgres",
        "dagster-duckdb",
        "slack-sdk",
        "dagster-slack",
        "dagster-msteams",
    )
)
#: The sources a wheel is built from (copied, so no stale `build/` folder leaks into it).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "dot_orchestration")
#: Built wheels, one folder per hash of their sources.
WHEELS = CACHE / "wheels"
#: In a venv: the hash of the wheel it holds, written once its requirements were checked.
INSTALLED_WHEEL = "installed-wheel.sha256"
#: In a venv: every `Requires-Dist` of the last wheel that passed `pip check` there.
CHECKED_REQUIREMENTS = "checked-requirements.json"
STALE_WHEEL_S = 3600


@dataclass(frozen=True)
class ReleaseSet:
    """What a team's project already has installed before adding this package."""

    name: str
    requirements: tuple[str, ...]
    dagster: str  # the dagster version that must still be there afterwards

    def cache_dir(self, core_requirements: list[str]) -> Path:
        text = "\n".join((sys.version, *self.requirements, "--", *sorted(core_requirements)))
        return CACHE / f"{self.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


# The oldest set the dependency ranges in pyproject.toml accept, and the newest one the
# registry had when this was last changed (`pip index versions dagster-dbt`; dagster
# 1.13.28/29 exist but no dagster-dbt for them yet, which pins dagster exactly). Bump it
# when a newer 0.29.x dagster-dbt appears. dbt-core 1.12 is left out: its parser package
# downloads a binary from GitHub while installing, which a CI without that access cannot.
RELEASE_SETS = (
    ReleaseSet(
        "oldest",
        ("dagster==1.13.20", "dagster-dbt==0.29.20", "dbt-core~=1.10.0", "dbt-postgres~=1.10.0"),
        dagster="1.13.20",
    ),
    ReleaseSet(
        "newest",
        ("dagster==1.13.27", "dagster-dbt==0.29.27", "dbt-core~=1.11.0", "dbt-postgres~=1.11.0"),
        dagster="1.13.27",
    ),
)


def run(
    *command: str | Path, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output if it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **env},
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def source_files() -> list[Path]:
    """The files a wheel is built from, relative to the checkout, in a stable order
    (bytecode left out: Python writes it beside the sources as they are imported)."""
    files = []
    for name in WHEEL_SOURCES:
        top = ROOT / name
        found = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        files += [
            p.relative_to(ROOT)
            for p in found
            if "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
    return sorted(files)


def sources_digest(files: list[Path]) -> str:
    """A hash of the sources' names and contents: the same sources build the same wheel."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path}\0".encode() + (ROOT / path).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_wheel(files: list[Path], out: Path, scratch: Path) -> Path:
    """Build the wheel from a copy of `files` (no stale `build/` folder can leak in)."""
    for path in files:
        (scratch / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, scratch / path)
    out.mkdir(parents=True, exist_ok=True)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, scratch)
    (built,) = out.glob("dot_orchestration-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the checkout's package sources, built once per change of them.

    Cached beside the venvs under the sources' hash. Building a new one removes the
    wheels no run used for an hour (another clone may be installing a recent one)."""
    files = source_files()
    cached = WHEELS / sources_digest(files)
    WHEELS.mkdir(parents=True, exist_ok=True)
    with FileLock(WHEELS / ".lock"):
        wheels = list(cached.glob("dot_orchestration-*.whl"))
        if len(wheels) == 1:
            cached.touch()  # in use: not stale
            return wheels[0]
        for stale in WHEELS.iterdir():
            if stale.is_dir() and time.time() - stale.stat().st_mtime > STALE_WHEEL_S:
                shutil.rmtree(stale, ignore_errors=True)
        building = WHEELS / f".building-{cached.name}"
        shutil.rmtree(building, ignore_errors=True)  # an interrupted build
        built = build_wheel(files, building, tmp_path_factory.mktemp("source"))
        building.rename(cached)  # whole or absent: never a half-written wheel
        return cached / built.name


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def core_requirements(wheel: Path) -> list[str]:
    """The wheel's `Requires-Dist` entries that apply without any extra."""
    every = wheel_metadata(wheel).get_all("Requires-Dist") or []
    return [r for r in every if not Requirement(r).marker]


def test_the_wheel_ships_the_package_and_no_example(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"dot_orchestration", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    assert not [n for n in names if "dot_demo" in n or "examples/" in n]
    assert "dot_orchestration/definitions.py" not in names
    assert "dot_orchestration/demo.py" not in names
    assert "dot_orchestration/cli.py" in names
    assert "dot_orchestration/emulator/confluence/pages/manifest.json" in names


def test_the_core_requirements_are_ranges_and_every_optional_part_is_an_extra(
    wheel: Path,
) -> None:
    core = {
        canonicalize_name(Requirement(r).name): Requirement(r) for r in core_requirements(wheel)
    }
    assert not FORBIDDEN & set(core), "an optional part became a core dependency"
    assert "dbt-core" not in core, "dagster-dbt and the user's adapter choose dbt-core"
    assert str(core["dagster"].specifier) in ("<1.14,>=1.13.20", ">=1.13.20,<1.14")
    assert all(not str(r.specifier).startswith("==") for r in core.values())
    extras = set(wheel_metadata(wheel).get_all("Provides-Extra") or [])
    assert {"duckdb", "postgres", "slack", "teams", "emulator", "dg", "demo", "dev"} <= extras


@dataclass(frozen=True)
class CompatVenv:
    """A cached venv: the release set, then our wheel with its dependencies."""

    path: Path
    added: frozenset[str]  # what installing our wheel added to the release set
    changed: dict[str, tuple[str, str]]  # release-set packages our install up/downgraded

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def freeze(python: Path) -> dict[str, str]:
    listed = json.loads(run(python, "-m", "pip", "list", "--format", "json").stdout)
    return {canonicalize_name(p["name"]): p["version"] for p in listed}


def create_venv(release: ReleaseSet, wheel: Path, target: Path) -> None:
    """The release set, then the wheel with its dependencies; `compat.json` (what our
    install added and changed) is written last and marks the venv complete. Built in
    place: a venv's scripts name its path, so it cannot be moved afterwards."""
    shutil.rmtree(target, ignore_errors=True)  # a half-built one, interrupted
    run(sys.executable, "-m", "venv", target)
    python = target / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", *release.requirements)
    before = freeze(python)
    run(python, "-m", "pip", "install", "--quiet", wheel)
    after = freeze(python)
    record = {
        "added": sorted(set(after) - set(before) - {"dot-orchestration"}),
        "changed": {n: (before[n], after[n]) for n in before if after.get(n) != before[n]},
    }
    (target / "compat.json").write_text(json.dumps(record, indent=2))
    for stale in CACHE.glob(f"{release.name}-*"):  # venvs of earlier requirement sets
        if stale.is_dir() and stale != target:
            shutil.rmtree(stale, ignore_errors=True)


def reinstall(python: Path, wheel: Path) -> subprocess.CompletedProcess[str]:
    """Our wheel, without its dependencies, over the copy a previous run installed."""
    return subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )


def check_requirements(python: Path, wheel: Path) -> None:
    """`pip check`: every requirement of the wheel (and of the rest) is met in the venv.

    Skipped when the wheel requires exactly what the last checked one did: a `--no-deps`
    reinstall replaced only our own files then, and the answer cannot differ (~2 s of CPU
    a venv on every run after a change to the package). A new venv checks always."""
    requirements = wheel_metadata(wheel).get_all("Requires-Dist") or []
    checked = python.parents[1] / CHECKED_REQUIREMENTS
    if checked.exists() and json.loads(checked.read_text()) == requirements:
        return
    run(python, "-m", "pip", "check")
    checked.write_text(json.dumps(requirements))


@pytest.fixture(scope="module", params=RELEASE_SETS, ids=lambda r: r.name)
def compat_venv(request: pytest.FixtureRequest, wheel: Path) -> Iterator[CompatVenv]:
    release: ReleaseSet = request.param
    target = release.cache_dir(core_requirements(wheel))
    CACHE.mkdir(parents=True, exist_ok=True)
    python = target / "bin" / "python"
    # One process at a time builds or refreshes a venv: clones on one machine share the cache.
    with FileLock(target.with_name(target.name + ".lock")):
        marker, wheel_hash = target / INSTALLED_WHEEL, file_digest(wheel)
        if not marker.exists() or marker.read_text() != wheel_hash:
            # The cached venv has every dependency; only our code changes between runs, so
            # the wheel is reinstalled alone. A venv that cannot take it (an earlier run
            # killed mid-install) is built again, wheel included.
            marker.unlink(missing_ok=True)
            if not (target / "compat.json").exists() or reinstall(python, wheel).returncode:
                create_venv(release, wheel, target)
            check_requirements(python, wheel)
            marker.write_text(wheel_hash)
    record = json.loads((target / "compat.json").read_text())
    venv = CompatVenv(
        target, frozenset(record["added"]), {k: tuple(v) for k, v in record["changed"].items()}
    )
    assert installed_version(venv.path, "dagster") == release.dagster
    yield venv


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def installed_version(venv: Path, name: str) -> str | None:
    """`name`'s version in the venv, read from its metadata (no interpreter started)."""
    found = importlib.metadata.distributions(name=name, path=[str(p) for p in site_dirs(venv)])
    return next((dist.version for dist in found), None)


def site_dirs(venv: Path) -> list[Path]:
    return list(venv.glob("lib/python*/site-packages"))


def test_installing_beside_a_release_set_pulls_no_optional_part(compat_venv: CompatVenv) -> None:
    assert not compat_venv.added & FORBIDDEN, sorted(compat_venv.added)
    assert compat_venv.changed == {}, "the install changed the team's versions"


@pytest.fixture(scope="module")
def probed(compat_venv: CompatVenv, tmp_path_factory: pytest.TempPathFactory) -> ProbeRun:
    """The probe in the venv, then `dagster definitions validate` of `_tiny_location.py` in
    the same interpreter (one import of Dagster and the layer instead of two), in a fresh
    folder that is also its `DAGSTER_HOME`."""
    home = tmp_path_factory.mktemp("probe")
    location = str(HERE / "_tiny_location.py")
    return probe(compat_venv.python, "--validate", location, cwd=home, DAGSTER_HOME=str(home))


def test_the_dagster_layer_imports_and_extras_are_named(probed: ProbeRun) -> None:
    assert probed.report is not None, probed.log
    assert_core_only(probed.report)


def test_a_small_code_location_loads(probed: ProbeRun) -> None:
    assert probed.returncode == 0, probed.log
    assert "Validation successful for code location _tiny_location.py" in probed.log  # stdout
