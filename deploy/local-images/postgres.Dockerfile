# A stand-in for the official postgres image: Debian's PostgreSQL server binaries on PATH, the
# `postgres` user, and a data directory it owns. Nothing else: the stand's own scripts
# (deploy/postgres/) do the set-up the official image's entrypoint would.
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* /var/lib/postgresql/* /etc/postgresql \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && ln -s /usr/lib/postgresql/*/bin /usr/lib/postgresql/bin
ENV PATH=/usr/lib/postgresql/bin:$PATH
USER postgres
