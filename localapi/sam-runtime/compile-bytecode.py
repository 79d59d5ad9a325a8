"""Byte-compile the image's Python files, as Debian's python3.13 postinst and Lambda's image do.

Usage: python3.13 compile-bytecode.py ROOT DIR... (DIRs as seen inside the image, e.g.
/usr/lib/python3.13). Run by build-image.sh with the host's Python 3.13 when its bytecode magic
number is the image interpreter's (much faster than the image's own interpreter under qemu), or by
the image's interpreter itself (ROOT=/). The .pyc files name the in-image paths and are checked by
timestamp, as CPython writes them by default; a symlinked source (sitecustomize.py) is resolved
inside ROOT, not on the host.
"""

import os
import py_compile
import sys
from pathlib import Path


def inside(root: Path, path: Path) -> Path:
    """The file `path` (an in-image path) refers to, following symlinks within `root`."""
    real = root / path.relative_to("/")
    for _ in range(40):
        if not real.is_symlink():
            return real
        target = Path(os.readlink(real))
        real = root / target.relative_to("/") if target.is_absolute() else real.parent / target
    raise OSError(f"too many symlinks: {path}")


def main(root: Path, directories: list[str]) -> int:
    compiled = failed = 0
    for directory in directories:
        for source in sorted((root / directory.lstrip("/")).rglob("*.py")):
            image_path = Path("/") / source.relative_to(root)
            real = inside(root, image_path)
            if not real.is_file():
                continue
            cache = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
            try:
                py_compile.compile(
                    str(real),
                    cfile=str(cache),
                    dfile=str(image_path),
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
                )
                compiled += 1
            except py_compile.PyCompileError as error:
                failed += 1
                print(f"not compiled: {image_path}: {error.msg.strip().splitlines()[-1]}")
    print(f"{compiled} files compiled, {failed} not compiled")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
