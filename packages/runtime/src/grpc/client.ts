import {
  credentials,
  InterceptingCall,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ClientUnaryCall,
  type Client,
  type ClientOptions,
  type Interceptor,
  type ServiceDefinition,
  type ServiceError as GrpcServiceError,
  status as GrpcStatus,
} from "@grpc/grpc-js";
import { currentRequestContext, REQUEST_ID_KEY } from "../observability/logger.js";
import { decodeLsns, encodeLsns, mergeLsns } from "../core/lsn.js";
import { IDEMPOTENCY_KEY, MIN_LSN_KEY, READ_LEADER_KEY, WRITTEN_LSN_KEY } from "./metadata.js";

/** Upper bound for any one unary call inside the mesh; a slower downstream is treated as unavailable. */
export const DEFAULT_DEADLINE_MS = 5_000;

type GeneratedClientConstructor<C extends Client> = {
  new (address: string, creds: ChannelCredentials, options?: Partial<ClientOptions>): C;
  service: ServiceDefinition;
};

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: GrpcServiceError | null, response: Res) => void,
) => unknown;

/** A generated grpc-js client with each unary method as `(request) => Promise<response>`. */
// Generated methods are overloaded; `infer` reads the last overload, the one with metadata and options.
export type PromiseClient<C> = {
  [K in keyof C as C[K] extends (...args: never[]) => ClientUnaryCall ? K : never]: C[K] extends (
    request: infer Req,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: GrpcServiceError | null, response: infer Res) => void,
  ) => ClientUnaryCall
    ? (request: Req, options?: { deadlineMs?: number; metadata?: Metadata }) => Promise<Res>
    : never;
} & { close(): void };

/**
 * Carries the current request id to the callee, so one id follows a request through the mesh, and
 * the WAL positions its reads must see (read-your-writes); brings back the positions its writes reached.
 */
const propagateContext: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start: (metadata, _listener, next) => {
      const context = currentRequestContext();
      if (context && metadata.get(REQUEST_ID_KEY).length === 0) metadata.set(REQUEST_ID_KEY, context.requestId);
      const required = mergeLsns(context?.minLsn, context?.writtenLsn);
      if (required) metadata.set(MIN_LSN_KEY, encodeLsns(required));
      if (context?.readLeader) metadata.set(READ_LEADER_KEY, "leader");
      if (context?.idempotencyKey) metadata.set(IDEMPOTENCY_KEY, context.idempotencyKey);
      next(metadata, {
        onReceiveStatus: (status, nextStatus) => {
          const written = decodeLsns(status.metadata?.get(WRITTEN_LSN_KEY)[0]);
          if (context && written) context.writtenLsn = mergeLsns(context.writtenLsn, written);
          nextStatus(status);
        },
      });
    },
  });

/**
 * Largest response a client accepts. A feed page holds up to FEED_PAGING_MAX_LIMIT (5000) posts of at
 * most 1000 characters, up to 4 bytes each in UTF-8: about 20 MB; gRPC's default (4 MB) is less
 * than even 1000 such posts.
 */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * The error a call fails with, for one result of a batch answered with its own status: the same
 * shape grpc-js gives a failed call, so the gateway's one mapping table (runtime/errors.ts) applies.
 */
export function grpcStatusError(code: GrpcStatus, details: string): GrpcServiceError {
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

export function createGrpcClient<C extends Client>(Ctor: GeneratedClientConstructor<C>, address: string): PromiseClient<C> {
  const client = new Ctor(address, credentials.createInsecure(), {
    interceptors: [propagateContext],
    // Reconnect quickly after a peer restarts instead of backing off for up to two minutes; services
    // start in any order, so a first attempt often meets a peer still starting: retry it soon.
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 2_000,
    "grpc.max_receive_message_length": MAX_RESPONSE_BYTES,
    "grpc.keepalive_time_ms": 30_000,
    // We serve no channelz service; its per-call bookkeeping was ~2% of the feed's CPU under load.
    "grpc.enable_channelz": 0,
  });
  const promised: Record<string, unknown> = { close: () => client.close() };
  for (const key of Object.keys(Ctor.service)) {
    const method = (client as unknown as Record<string, UnaryMethod<unknown, unknown>>)[key]!.bind(client);
    promised[key] = (request: unknown, options: { deadlineMs?: number; metadata?: Metadata } = {}) =>
      new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS));
        method(request, options.metadata ?? new Metadata(), { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
      });
  }
  return promised as PromiseClient<C>;
}
