"""Render the app icon SVG into the PNG set, .ico and (macOS only) .icns the installers use."""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "icons" / "ingest-desk.svg"
OUT = ROOT / "packaging" / "icons"
ICONSET = ROOT / "build" / "ingest-desk.iconset"  # iconutil input; build/ is gitignored

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# iconutil's required names: icon_<n>x<n>[@2x].png for n in 16, 32, 128, 256, 512.
ICONSET_SIZES = (16, 32, 128, 256, 512)


def render_png(svg: Path, size: int) -> bytes:
    """The SVG rendered into a transparent size x size PNG."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice  # noqa: PLC0415
    from PySide6.QtGui import QImage, QPainter  # noqa: PLC0415
    from PySide6.QtSvg import QSvgRenderer  # noqa: PLC0415

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"not a valid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def write_ico(path: Path, images: dict[int, bytes]) -> None:
    """A multi-size .ico with PNG-compressed entries (read by Windows Vista and later)."""
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        blob = images[size]
        # Width/height are one byte each; 0 means 256.
        dim = 0 if size >= 256 else size
        entries.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset))
        blobs.append(blob)
        offset += len(blob)
    path.write_bytes(header + b"".join(entries) + b"".join(blobs))


def write_icns(pngs: dict[int, bytes], target: Path) -> bool:
    """Build the .icns with iconutil (macOS only); False with a message elsewhere."""
    if ICONSET.exists():
        shutil.rmtree(ICONSET)
    ICONSET.mkdir(parents=True)
    for size in ICONSET_SIZES:
        (ICONSET / f"icon_{size}x{size}.png").write_bytes(pngs[size])
        (ICONSET / f"icon_{size}x{size}@2x.png").write_bytes(pngs[size * 2])
    iconutil = shutil.which("iconutil")
    if sys.platform != "darwin" or iconutil is None:
        print(f"skipped .icns: iconutil is macOS-only (iconset left in {ICONSET})")
        return False
    subprocess.run([iconutil, "-c", "icns", str(ICONSET), "-o", str(target)], check=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--svg", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    # Rendering needs a QGuiApplication but never a display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication  # noqa: PLC0415

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    pngs = {size: render_png(args.svg, size) for size in PNG_SIZES}
    for size, blob in pngs.items():
        (args.out / f"ingest-desk-{size}.png").write_bytes(blob)
    write_ico(args.out / "ingest-desk.ico", {size: pngs[size] for size in ICO_SIZES})
    made = [f"{len(PNG_SIZES)} PNGs", "ingest-desk.ico"]
    if write_icns(pngs, args.out / "ingest-desk.icns"):
        made.append("ingest-desk.icns")
    print(f"wrote {', '.join(made)} to {args.out}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
