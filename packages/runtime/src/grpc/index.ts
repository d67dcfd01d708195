// @fanfare/runtime/grpc: the server bootstrap (health, reflection, error mapping, graceful
// shutdown), typed promise clients, and the metadata keys they exchange.
export * from "./client.js";
export * from "./metadata.js";
export * from "./reflection.js";
export * from "./server.js";
