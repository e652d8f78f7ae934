"""A minimal local Docker image for the lab's Python containers (nothing is pulled).

The image is an imported root filesystem holding only mount points and the merged-/usr
symlinks; the host's ``/usr``, Python installation and virtual environment are bind-mounted
read-only when a container runs, so the container runs exactly the code on the host.
"""

from __future__ import annotations

import io
import sys
import tarfile
import time
from pathlib import Path

import docker
import docker.errors

from opslib.errors import LabError

__all__ = ["IMAGE", "ensure_image", "python_mounts"]

IMAGE = "opslib-lab-python:1"
_DIRS = (
    "tmp",
    "etc",
    "proc",
    "sys",
    "dev",
    "usr",
    "root",
    "run",
    "var",
    "opt",
    "home",
    "work",
    "srv",
)
_LINKS = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}


def _rootfs_tar() -> bytes:
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in _DIRS:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            info.mtime = now
            tar.addfile(info)
        for name, target in _LINKS.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            info.mtime = now
            tar.addfile(info)
        passwd = (
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
        )
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        info.mode = 0o644
        info.mtime = now
        tar.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


def ensure_image(client: docker.DockerClient) -> str:
    """Import :data:`IMAGE` if the engine does not have it yet; return its name."""
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.DockerException as exc:
        raise LabError(f"docker: cannot look up image {IMAGE}: {exc}") from exc
    else:
        return IMAGE
    repo, tag = IMAGE.split(":")
    try:
        client.api.import_image_from_data(_rootfs_tar(), repository=repo, tag=tag)
    except docker.errors.DockerException as exc:
        raise LabError(f"docker: cannot import image {IMAGE}: {exc}") from exc
    return IMAGE


def python_mounts(*extra: Path) -> dict[str, dict[str, str]]:
    """Read-only bind mounts that make this interpreter and its packages work in the image."""
    paths = {Path("/usr"), Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), *extra}
    if Path("/etc/ssl").is_dir():
        paths.add(Path("/etc/ssl"))
    keep = sorted(p for p in paths if not any(p != q and p.is_relative_to(q) for q in paths))
    return {str(p): {"bind": str(p), "mode": "ro"} for p in keep}
