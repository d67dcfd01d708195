# One image definition for every service: `docker build --build-arg SERVICE=posts .`
# Manifests only: the npm install layers below are cached until a package.json or the lock changes.
FROM node:22-bookworm-slim AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/runtime/package.json packages/runtime/
COPY services/social-graph/package.json services/social-graph/
COPY services/posts/package.json services/posts/
COPY services/feed/package.json services/feed/
COPY services/gateway/package.json services/gateway/

# Build stage: dev dependencies, code generation (buf ships in npm), TypeScript build.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /app ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node scripts/generate.mjs && npx tsc -b packages/contracts packages/runtime services/social-graph services/posts services/feed services/gateway

# Runtime stage: production dependencies only, non-root, read-only friendly.
FROM node:22-bookworm-slim AS runtime
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
COPY --from=manifests /app ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/contracts/dist packages/contracts/dist
COPY --from=build /app/packages/contracts/descriptors packages/contracts/descriptors
COPY --from=build /app/packages/runtime/dist packages/runtime/dist
# The service folder: dist, migrations (social-graph, posts) and the OpenAPI copy (gateway).
COPY --from=build /app/services/${SERVICE} services/${SERVICE}
USER node
# gRPC services: the standard health service; the gateway overrides this with its HTTP /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD ["node", "packages/runtime/dist/src/health-probe.js"]
CMD ["sh", "-c", "exec node services/${SERVICE}/dist/src/main.js"]
