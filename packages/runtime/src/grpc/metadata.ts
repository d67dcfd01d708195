// The gRPC metadata keys the mesh's clients and servers exchange (grpc/client.ts sets them from the
// request context, grpc/server.ts reads them back into it).

/** gRPC metadata: reads must see these positions (caller -> callee) / writes reached these (callee -> caller). */
export const MIN_LSN_KEY = "x-fanfare-min-lsn";
export const WRITTEN_LSN_KEY = "x-fanfare-written-lsn";
/** gRPC metadata: with the value "leader", the callee's reads go to the leader (see RequestContext.readLeader). */
export const READ_LEADER_KEY = "x-fanfare-read";
/** gRPC metadata: the caller's Idempotency-Key, scoped to the caller (see postgres/idempotency.ts). */
export const IDEMPOTENCY_KEY = "x-fanfare-idempotency-key";
