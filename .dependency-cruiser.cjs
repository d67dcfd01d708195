// The shape of the code, checked by `npm run lint` (dependency-cruiser). Each rule names a
// direction the code must never take; ARCHITECTURE.md explains the layers.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "An import cycle makes two files one: neither can be read, tested or moved alone.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "domain-imports-no-transport",
      comment:
        "Use cases and rules do no I/O of their own: they reach other services, brokers and stores through data-access/ repositories and the ports in domain/ports.ts, never through entry-points/, outbound/ or a driver.",
      severity: "error",
      from: { path: "^services/[^/]+/src/domain/" },
      to: {
        path: [
          "^services/[^/]+/src/(entry-points|outbound)/",
          "^services/[^/]+/src/(app|main|audit)\\.ts$",
          "node_modules/(@grpc/grpc-js|nats|ioredis|pg|express|ws)/",
          "^packages/runtime/dist/src/(grpc|postgres|events)/",
        ],
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "domain-types-from-inner-layers-only",
      comment: "The domain may name the data-access types it works with, never those of the layers above it.",
      severity: "error",
      from: { path: "^services/[^/]+/src/domain/" },
      to: { path: "^services/[^/]+/src/(entry-points|outbound)/" },
    },
    {
      name: "data-access-never-back",
      comment: "Repositories serve the domain; they never import it (nor the transport above it).",
      severity: "error",
      from: { path: "^services/[^/]+/src/data-access/" },
      to: { path: "^services/[^/]+/src/(domain|entry-points|outbound)/" },
    },
    {
      name: "outbound-never-back",
      comment: "Outbound adapters (gRPC clients, publishers) fit the domain's ports by shape and import none of it.",
      severity: "error",
      from: { path: "^services/[^/]+/src/outbound/" },
      to: { path: "^services/[^/]+/src/(domain|entry-points|data-access)/" },
    },
    {
      name: "entry-points-go-through-the-domain",
      comment: "Transport calls use cases; it does not reach past them into repositories or adapters.",
      severity: "error",
      from: { path: "^services/[^/]+/src/entry-points/" },
      to: { path: "^services/[^/]+/src/(data-access|outbound)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "services-share-only-contracts-and-runtime",
      comment: "No service reads another's code: cross-service data goes over gRPC or events.",
      severity: "error",
      from: { path: "^services/([^/]+)/" },
      to: { path: "^services/", pathNot: "^services/$1/" },
    },
    {
      name: "no-test-helpers-in-production",
      comment: "@fanfare/runtime/testing is for tests and the bench.",
      severity: "error",
      from: { path: "^(services|packages)/", pathNot: "^packages/runtime/(src|dist/src)/testing/" },
      to: { path: "^packages/runtime/(src|dist/src)/testing/" },
    },
    {
      name: "postgres-only-where-owned",
      comment: "The gateway and the feed own no database: they must not load pg or node-pg-migrate, even through the runtime package.",
      severity: "error",
      from: { path: "^services/(gateway|feed)/src/main\\.ts$" },
      to: { path: "node_modules/(pg|node-pg-migrate)/", reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(gen|dist/test)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
    moduleSystems: ["es6", "cjs"],
  },
};
