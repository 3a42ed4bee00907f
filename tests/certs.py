"""Certificates for the TLS tests, made with the `openssl` command line (CI installs it)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path
    serial: int


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail(
            "openssl not found on PATH: the TLS tests make their certificates with it.", pytrace=False
        )
    subprocess.run([openssl, *args], check=True, capture_output=True)


class CertificateAuthority:
    """A throwaway CA that issues server and client certificates for 127.0.0.1 / localhost."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cert = directory / "ca.crt"
        self.key = directory / "ca.key"
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bridge test CA",
            "-keyout", str(self.key), "-out", str(self.cert),
        )  # fmt: skip

    def issue(self, name: str, serial: int, *, common_name: str = "localhost") -> Pair:
        """A certificate + unencrypted PKCS#8 key ("BEGIN PRIVATE KEY", what Kafka's PEM store reads)."""
        pair = Pair(self.directory / f"{name}.crt", self.directory / f"{name}.key", serial)
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={common_name}",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-CA", str(self.cert), "-CAkey", str(self.key), "-set_serial", str(serial),
            "-keyout", str(pair.key), "-out", str(pair.cert),
        )  # fmt: skip
        return pair
