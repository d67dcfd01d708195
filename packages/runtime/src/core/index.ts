// @fanfare/runtime: what every process uses, with no driver behind it (config, errors, validation,
// lifecycle, read-your-writes positions). Drivers live behind the subpaths ./grpc, ./postgres,
// ./events, ./observability, so a service loads only those it imports.
export * from "./call-batcher.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./expiring-map.js";
export * from "./lifecycle.js";
export * from "./lsn.js";
export * from "./uuid-bytes.js";
export * from "./validation.js";
