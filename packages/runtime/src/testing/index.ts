// @fanfare/runtime/testing: helpers for tests and the bench only; no service imports this.
export * from "./free-port.js";
export * from "./feed-consumers.js";
