// @fanfare/runtime/events: the NATS connection, every stream and subject name, durable consumers.
export * from "./consumer.js";
export * from "./nats.js";
export * from "./streams.js";
