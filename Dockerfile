# socketlabs-kafka-bridge container image.
#
# Build with scripts/build-image: it puts the bridge's wheel and every dependency wheel into
# build/wheels/ on the host first, so this build itself needs no network (CI reaches no registry).
# BASE_IMAGE is any Debian-like image with python3 (3.11) and its venv module: the official slim
# image by default; CI passes a local debootstrapped Debian (see scripts/ci-docker).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
COPY build/wheels/ /wheels/
# A venv holds the bridge and its dependencies; pip and setuptools leave it again, so the final
# image carries no installer. Bytecode is compiled here because the root file system is read-only
# at run time.
# The dependencies from the lock, each file checked against its sha256; then the bridge alone.
RUN python3 -m venv /opt/bridge \
    && /opt/bridge/bin/pip install --no-index --find-links=/wheels --no-cache-dir --disable-pip-version-check \
        --require-hashes -r /wheels/requirements.lock \
    && /opt/bridge/bin/pip install --no-index --find-links=/wheels --no-cache-dir --disable-pip-version-check \
        --no-deps socketlabs-kafka-bridge \
    && /opt/bridge/bin/pip uninstall --yes --quiet pip setuptools \
    && /opt/bridge/bin/socketlabs-bridge --help >/dev/null

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="socketlabs-kafka-bridge" \
      org.opencontainers.image.description="SocketLabs Event Webhook to Kafka bridge" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/bridge /opt/bridge
# HOME=/tmp: the only place a read-only-root container (with an emptyDir or tmpfs there) may write.
ENV PATH=/opt/bridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
# A fixed numeric UID/GID (no passwd entry needed): Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /tmp
# 8080: webhook listener; 9090: admin listener (/healthz, /readyz, /metrics).
EXPOSE 8080 9090
# No HEALTHCHECK: Kubernetes ignores it and probes /healthz and /readyz itself (see the Helm chart);
# the admin address is configurable, so a baked-in probe could check the wrong port.
ENTRYPOINT ["socketlabs-bridge"]
CMD ["serve"]
