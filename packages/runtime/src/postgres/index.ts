// @fanfare/runtime/postgres: pools and migrations, leader/replica routing, idempotent
// transactions, the transactional outbox, and the bootstrap of a PostgreSQL-owning service.
export * from "./db-router.js";
export * from "./idempotency.js";
export * from "./outbox.js";
export * from "./pool.js";
export * from "./service.js";
