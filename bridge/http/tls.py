"""HTTPS on the public listener: TLS 1.2 or newer, and a renewed certificate served without restart.

cert-manager (and certbot) renew certificates by rewriting the files on disk. `ServerCertificate`
checks the files every few seconds; when they changed, it builds a complete new context off to
the side and only then swaps it in, so a half-written pair (new certificate, old key) is refused
with a warning and the old certificate stays in service until the pair is whole again.

The swap uses the SNI callback, which OpenSSL calls on every handshake (with or without a server
name): each new connection is handed the current context; connections already open keep theirs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl

log = logging.getLogger(__name__)


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context for one certificate and key; ssl.SSLError or OSError when they are unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)  # also checks that the key matches
    return context


class ServerCertificate:
    def __init__(self, cert_file: str, key_file: str) -> None:
        self._files = (cert_file, key_file)
        self._stamp = self._read_stamp()
        self.current = server_context(cert_file, key_file)
        # The listener's own context: it only hands each handshake the current one.
        self.context = server_context(cert_file, key_file)
        self.context.sni_callback = self._choose_context

    def _choose_context(self, connection: ssl.SSLObject, _name: str | None, _ctx: ssl.SSLContext) -> None:
        connection.context = self.current

    def _read_stamp(self) -> tuple[tuple[int, int, int], ...]:
        # stat() follows symlinks, so the ..data symlink swap of a Kubernetes Secret mount counts.
        stats = [os.stat(path) for path in self._files]
        return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)

    def reload_if_changed(self) -> bool:
        """Swap in the certificate on disk if the files changed and form a usable pair."""
        try:
            stamp = self._read_stamp()
        except OSError as exc:
            log.warning(
                "TLS certificate files unreadable; keeping the current certificate",
                extra={"reason": str(exc)},
            )
            return False
        if stamp == self._stamp:
            return False
        self._stamp = stamp  # tried once per change: a half-written pair changes again when whole
        try:
            context = server_context(*self._files)
        except (OSError, ssl.SSLError) as exc:
            log.warning(
                "renewed TLS certificate not usable yet; keeping the current certificate",
                extra={"reason": str(exc)},
            )
            return False
        self.current = context
        log.info("TLS certificate reloaded", extra={"cert_file": self._files[0]})
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()
