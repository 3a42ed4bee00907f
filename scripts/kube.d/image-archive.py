"""Write a one-layer image as a `docker save` archive that `ctr images import` reads.

    python3 image-archive.py OUT.tar NAME:TAG --entrypoint /pause [--user 65535:65535] SRC=DEST...

For the cluster's own small images (the pause container, CoreDNS, metrics-server): each is a static
binary and needs no base image, so no image builder or registry is involved.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile


def layer_tar(files: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for source, dest in files:
            parts = dest.strip("/").split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                name = "/".join(parts[:depth])
                if name not in dirs:
                    dirs.add(name)
                    info = tarfile.TarInfo(name)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tar.gettarinfo(source, dest.strip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with open(source, "rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("ref")
    parser.add_argument("--entrypoint", action="append", required=True)
    parser.add_argument("--user", default="65535:65535")
    parser.add_argument("files", nargs="+", metavar="SRC=DEST")
    args = parser.parse_args()
    layer = layer_tar([tuple(spec.split("=", 1)) for spec in args.files])  # type: ignore[misc]
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": args.entrypoint, "User": args.user, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": "scripts/kube.d/image-archive.py"}],
        },
        sort_keys=True,
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_name = diff_id[7:] + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [args.ref], "Layers": [layer_name]}]).encode()
    with tarfile.open(args.out, "w") as out:
        for name, data in ((config_name, config), (layer_name, layer), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


if __name__ == "__main__":
    main()
