import {
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { descriptorSetPath } from "@fanfare/contracts";
import { isConnectionError, RETRY_AFTER_KEY, ServiceError } from "../core/errors.js";
import {
  newRequestId,
  REQUEST_ID_KEY,
  runWithRequestContext,
  sanitizeRequestId,
  type Logger,
  type RequestContext,
} from "../observability/logger.js";
import type { Closer } from "../core/lifecycle.js";
import { counter, histogram, LATENCY_BUCKETS, startMetricsServer } from "../observability/metrics.js";
import { decodeLsns, encodeLsns } from "../core/lsn.js";
import { IDEMPOTENCY_KEY, MIN_LSN_KEY, READ_LEADER_KEY, WRITTEN_LSN_KEY } from "./metadata.js";
import { addReflection, DescriptorIndex } from "./reflection.js";

type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer R } ? R : never;
type ResponseOf<M> = M extends { responseSerialize: (value: infer R) => Buffer } ? R : never;

export interface CallContext {
  requestId: string;
  metadata: Metadata;
}

/** A service's handlers as plain async functions: return the response or throw a ServiceError. */
export type AsyncHandlers<D> = {
  [K in keyof D]: (request: RequestOf<D[K]>, call: CallContext) => Promise<ResponseOf<D[K]>>;
};

export interface ServiceBinding {
  definition: ServiceDefinition;
  handlers: Record<string, (request: never, call: CallContext) => Promise<unknown>>;
}

export function bindService<D extends ServiceDefinition>(definition: D, handlers: AsyncHandlers<D>): ServiceBinding {
  return { definition, handlers: handlers };
}

export interface RunningGrpcServer {
  port: number;
  /** Marks every service SERVING (or not) in the standard health service. */
  setServing(serving: boolean): void;
  /** Stops taking calls, lets in-flight ones finish until the deadline, then cuts what is left. */
  shutdown(deadlineMs: number): Promise<void>;
}

export interface GrpcServerOptions {
  bindings: ServiceBinding[];
  host: string;
  port: number;
  logger: Logger;
}

const handledCalls = counter("grpc_server_handled_total", "gRPC calls completed, by method and status code", ["method", "code"]);
const callDuration = histogram("grpc_server_handling_seconds", "gRPC call latency", ["method"], LATENCY_BUCKETS);

const HEALTH_SERVICE = "grpc.health.v1.Health";
const REFLECTION_SERVICES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  // No channelz service is served; its per-call bookkeeping showed in profiles of the feed under load.
  const server = new Server({ "grpc.enable_channelz": 0 });
  const serviceNames = options.bindings.map((binding) => serviceNameOf(binding.definition));
  const health = new HealthImplementation(Object.fromEntries(["", ...serviceNames].map((name) => [name, "NOT_SERVING" as const])));
  health.addToServer(server);
  addReflection(server, DescriptorIndex.fromFile(descriptorSetPath), new Set([...serviceNames, HEALTH_SERVICE, ...REFLECTION_SERVICES]));
  for (const binding of options.bindings) server.addService(binding.definition, adaptHandlers(binding, options.logger));

  const port = await bind(server, `${options.host}:${options.port}`);
  options.logger.info({ port, services: serviceNames }, "gRPC server listening");
  return {
    port,
    setServing: (serving) => {
      for (const name of ["", ...serviceNames]) health.setStatus(name, serving ? "SERVING" : "NOT_SERVING");
    },
    shutdown: (deadlineMs) => shutdownGracefully(server, deadlineMs),
  };
}

export interface ServingGrpc {
  port: number;
  metricsPort: number;
  /** The first shutdown steps: health NOT_SERVING, then stop taking calls and finish in-flight ones. */
  drainSteps: Closer[];
  /** The last shutdown step: the /metrics endpoint. */
  metricsStep: Closer;
}

/** The settings of every gRPC service's front, as its environment names them. */
export interface GrpcFrontSettings {
  GRPC_HOST: string;
  GRPC_PORT: number;
  METRICS_PORT: number;
  SHUTDOWN_DEADLINE_MS: number;
}

/** A gRPC service's front: the server (health, reflection) and its /metrics endpoint, marked SERVING. */
export async function serveGrpc(bindings: ServiceBinding[], settings: GrpcFrontSettings, logger: Logger): Promise<ServingGrpc> {
  const server = await startGrpcServer({ bindings, host: settings.GRPC_HOST, port: settings.GRPC_PORT, logger });
  const metrics = await startMetricsServer(settings.METRICS_PORT);
  server.setServing(true);
  return {
    port: server.port,
    metricsPort: metrics.port,
    drainSteps: [
      { name: "health", close: () => server.setServing(false) },
      { name: "grpc", close: () => server.shutdown(settings.SHUTDOWN_DEADLINE_MS) },
    ],
    metricsStep: { name: "metrics", close: () => metrics.close() },
  };
}

function serviceNameOf(definition: ServiceDefinition): string {
  const firstMethod = Object.values(definition)[0];
  if (!firstMethod) throw new Error("service definition without methods");
  return firstMethod.path.split("/")[1] ?? "";
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
}

function shutdownGracefully(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cutOff = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, deadlineMs);
    server.tryShutdown(() => {
      clearTimeout(cutOff);
      resolve();
    });
  });
}

function adaptHandlers(binding: ServiceBinding, logger: Logger): UntypedServiceImplementation {
  return Object.fromEntries(
    Object.entries(binding.definition).map(([key, method]) => {
      const handler = binding.handlers[key];
      if (!handler) throw new Error(`no handler for ${method.path}`);
      return [key, adaptUnary(method.path, handler, logger)];
    }),
  );
}

/** Runs one unary call inside its request context, with metrics, and turns thrown errors into statuses. */
function adaptUnary(path: string, handler: ServiceBinding["handlers"][string], logger: Logger) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const requestId = sanitizeRequestId(call.metadata.get(REQUEST_ID_KEY)[0]) ?? newRequestId();
    const context: RequestContext = {
      requestId,
      minLsn: decodeLsns(call.metadata.get(MIN_LSN_KEY)[0]),
      readLeader: call.metadata.get(READ_LEADER_KEY)[0] === "leader",
      idempotencyKey: idempotencyKeyOf(call.metadata),
    };
    void runWithRequestContext(context, async () => {
      const stopTimer = callDuration.startTimer({ method: path });
      try {
        const response = await handler(call.request as never, { requestId, metadata: call.metadata });
        handledCalls.inc({ method: path, code: "OK" });
        callback(null, response, writtenLsnTrailer(context));
      } catch (error) {
        const { code, details } = statusOf(error, path, logger);
        handledCalls.inc({ method: path, code: GrpcStatus[code] });
        callback({ code, details, metadata: retryAfterTrailer(error) });
      } finally {
        stopTimer();
      }
    });
  };
}

/** The caller's idempotency key, when it is a sane one (the gateway validates the client's). */
function idempotencyKeyOf(metadata: Metadata): string | undefined {
  const value = metadata.get(IDEMPOTENCY_KEY)[0];
  return typeof value === "string" && value.length > 0 && value.length <= 400 ? value : undefined;
}

/** A throttled caller learns when to come back. */
function retryAfterTrailer(error: unknown): Metadata | undefined {
  if (!(error instanceof ServiceError) || error.retryAfterSeconds === undefined) return undefined;
  const trailer = new Metadata();
  trailer.set(RETRY_AFTER_KEY, String(error.retryAfterSeconds));
  return trailer;
}

/** Tells the caller how far this call's writes went, so its next reads can insist on seeing them. */
function writtenLsnTrailer(context: RequestContext): Metadata | undefined {
  if (!context.writtenLsn) return undefined;
  const trailer = new Metadata();
  trailer.set(WRITTEN_LSN_KEY, encodeLsns(context.writtenLsn));
  return trailer;
}

/**
 * The status a handler's error is answered with: a ServiceError's own, UNAVAILABLE for a database
 * outage, INTERNAL (logged, no details to the caller) for anything else. Exported for handlers that
 * answer many results in one call, each with its own status.
 */
export function statusOf(error: unknown, path: string, logger: Logger): { code: GrpcStatus; details: string } {
  if (error instanceof ServiceError) return { code: error.code, details: error.message };
  if (isConnectionError(error)) {
    logger.warn({ err: error, method: path }, "database unavailable");
    return { code: GrpcStatus.UNAVAILABLE, details: "database temporarily unavailable" };
  }
  logger.error({ err: error, method: path }, "unhandled error in gRPC handler");
  return { code: GrpcStatus.INTERNAL, details: "internal error" };
}
