# A stand-in for the official nats image: Debian's nats-server, and wget for the health check
# (the official alpine variant has busybox's).
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends nats-server wget && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown nobody /data
USER nobody
CMD ["nats-server"]
