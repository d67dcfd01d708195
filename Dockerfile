# One image definition for every service: docker build --build-arg SERVICE=posts .
# NODE_IMAGE: any Node >= 20.19 image with npm and a `node` user (default: the official slim one).
ARG NODE_IMAGE=node:22-bookworm-slim

# Every workspace manifest and the lock: `npm ci` needs them all, and the layers below stay cached
# until one of them changes.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/runtime/package.json packages/runtime/
COPY services/social-graph/package.json services/social-graph/
COPY services/posts/package.json services/posts/
COPY services/feed/package.json services/feed/
COPY services/gateway/package.json services/gateway/
COPY tools/package.json tools/
COPY bench/package.json bench/
# Behind a TLS-intercepting proxy, put its CA bundle at deploy/ca/extra-ca.pem (git ignores it):
# npm then trusts it through NODE_EXTRA_CA_CERTS. Absent, nothing changes.
COPY deploy/ca/ /etc/fanfare-ca/

# Build: all dependencies, code generation (buf ships inside npm), the TypeScript of one service.
FROM manifests AS build
ARG SERVICE
RUN if [ -s /etc/fanfare-ca/extra-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/etc/fanfare-ca/extra-ca.pem; fi \
 && npm ci --no-audit --no-fund
COPY buf.yaml buf.gen.yaml tsconfig.base.json ./
COPY proto proto
COPY scripts scripts
COPY packages packages
COPY services/${SERVICE} services/${SERVICE}
RUN node scripts/generate.mjs && npx tsc -b services/${SERVICE}
# What the service runs, laid out as in the repository: compiled code, descriptors, migrations
# (social-graph, posts) and the OpenAPI document (gateway); no sources, no tests.
RUN mkdir -p /out/packages/contracts /out/packages/runtime/dist /out/services/${SERVICE}/dist \
 && cp -r packages/contracts/package.json packages/contracts/dist packages/contracts/descriptors /out/packages/contracts/ \
 && cp packages/runtime/package.json /out/packages/runtime/ && cp -r packages/runtime/dist/src /out/packages/runtime/dist/ \
 && cp services/${SERVICE}/package.json /out/services/${SERVICE}/ && cp -r services/${SERVICE}/dist/src /out/services/${SERVICE}/dist/ \
 && for extra in migrations openapi; do if [ -d services/${SERVICE}/$extra ]; then cp -r services/${SERVICE}/$extra /out/services/${SERVICE}/; fi; done

# Production dependencies of that one service (and of the workspace packages it links), nothing else.
FROM manifests AS production-dependencies
ARG SERVICE
RUN if [ -s /etc/fanfare-ca/extra-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/etc/fanfare-ca/extra-ca.pem; fi \
 && npm ci --omit=dev --no-audit --no-fund --workspace services/${SERVICE} \
 && npm cache clean --force

# Runtime: compiled code, migrations and the OpenAPI copy; non-root; works on a read-only root.
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
COPY --from=production-dependencies /app/package.json ./
COPY --from=production-dependencies /app/node_modules node_modules
COPY --from=build /out/ ./
USER node
# gRPC services answer the standard health service; the gateway's Compose and Kubernetes probes use /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD ["node", "packages/runtime/dist/src/grpc/health-probe.js"]
CMD ["sh", "-c", "exec node services/${SERVICE}/dist/src/main.js"]
