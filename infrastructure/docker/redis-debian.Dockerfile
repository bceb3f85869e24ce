# Redis 7 from Debian bookworm's redis-server, for machines that reach no image registry: scripts/compose-smoke
# builds it on its debootstrapped base and runs the compose stack with WEDSYNC_REDIS_IMAGE pointing at it. Users get
# the official redis:7 image (docker-compose.yml's default); this one takes the same command line (redis-server and
# redis-cli on PATH, /data as the working directory, the redis user).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /data; \
    chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
