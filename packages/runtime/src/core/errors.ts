import { status as GrpcStatus, type ServiceError as GrpcServiceError } from "@grpc/grpc-js";

/**
 * A failure a handler means to report to its caller, with a gRPC status code. Anything else a
 * handler throws is a bug or an outage and reaches the caller as INTERNAL with a generic message.
 */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
  constructor(
    readonly code: GrpcStatus,
    message: string,
    /** Seconds the caller should wait before trying again (throttling); sent as the RETRY_AFTER_KEY trailer. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** gRPC trailer with ServiceError.retryAfterSeconds; the gateway answers it as Retry-After. */
export const RETRY_AFTER_KEY = "x-fanfare-retry-after";

export const invalidArgument = (message: string) => new ServiceError(GrpcStatus.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new ServiceError(GrpcStatus.NOT_FOUND, message);
export const permissionDenied = (message: string) => new ServiceError(GrpcStatus.PERMISSION_DENIED, message);
export const alreadyExists = (message: string) => new ServiceError(GrpcStatus.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new ServiceError(GrpcStatus.FAILED_PRECONDITION, message);
export const unavailable = (message: string) => new ServiceError(GrpcStatus.UNAVAILABLE, message);
export const unauthenticated = (message: string) => new ServiceError(GrpcStatus.UNAUTHENTICATED, message);
export const resourceExhausted = (message: string, retryAfterSeconds: number) =>
  new ServiceError(GrpcStatus.RESOURCE_EXHAUSTED, message, retryAfterSeconds);

export function isGrpcError(error: unknown): error is GrpcServiceError {
  return error instanceof Error && typeof (error as Partial<GrpcServiceError>).code === "number" && "metadata" in error;
}

/** How each gRPC status reaches an HTTP client: the one table the gateway maps errors with. */
export const HTTP_STATUS_BY_GRPC: Readonly<Record<GrpcStatus, number>> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.UNKNOWN]: 500,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.INTERNAL]: 500,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DATA_LOSS]: 500,
  [GrpcStatus.UNAUTHENTICATED]: 401,
};

/** Statuses whose message was written for the caller and may be shown to a client as is. */
const CLIENT_FACING = new Set<GrpcStatus>([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.RESOURCE_EXHAUSTED,
]);

export interface HttpError {
  status: number;
  message: string;
  /** Seconds a client should wait before retrying, for outages. */
  retryAfter?: number;
}

/** Seconds a client is asked to wait when a downstream is unavailable: long enough for a restart. */
const RETRY_AFTER_SECONDS = 5;

export function httpErrorFromGrpc(error: GrpcServiceError): HttpError {
  const status = HTTP_STATUS_BY_GRPC[error.code] ?? 500;
  if (CLIENT_FACING.has(error.code)) {
    const retryAfter = Number(error.metadata?.get(RETRY_AFTER_KEY)[0]);
    return { status, message: error.details || error.message, ...(retryAfter > 0 ? { retryAfter: Math.ceil(retryAfter) } : {}) };
  }
  if (status === 503 || status === 504) {
    return { status: 503, message: "a service is temporarily unavailable, retry later", retryAfter: RETRY_AFTER_SECONDS };
  }
  return { status, message: "internal error" };
}

/**
 * Errors of a backing store (PostgreSQL SQLSTATE classes, socket errors) that mean "the server is
 * not there right now" rather than "this query is wrong": refused or dropped connections, a server
 * shutting down or starting, a standby refusing writes. Pure, so the gRPC server can map them to
 * UNAVAILABLE without loading a database driver.
 */
export function isConnectionError(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  if (typeof code === "string" && /^(08|57P0[1-3]|53300|25006)/.test(code)) return true;
  if (typeof code === "string" && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND)$/.test(code)) return true;
  return (
    typeof message === "string" &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)
  );
}
