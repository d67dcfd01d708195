import { currentRequestContext, newRequestId, runWithRequestContext, type LsnByDatabase } from "../observability/logger.js";

/** NATS header on outbox events: the WAL position the event's change had reached. */
export const EVENT_LSN_HEADER = "Fanfare-Lsn";

/** A PostgreSQL LSN ("16/B374D848") as a number that compares correctly. */
export function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split("/");
  return (BigInt(`0x${high ?? "0"}`) << 32n) + BigInt(`0x${low ?? "0"}`);
}

export function laterLsn(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return lsnValue(a) >= lsnValue(b) ? a : b;
}

/** Keeps, per database, the later of two positions. */
export function mergeLsns(a: LsnByDatabase | undefined, b: LsnByDatabase | undefined): LsnByDatabase | undefined {
  if (!a) return b;
  if (!b) return a;
  const merged: LsnByDatabase = { ...a };
  for (const [database, lsn] of Object.entries(b)) merged[database] = laterLsn(merged[database], lsn)!;
  return merged;
}

/** "pg-a:5432=0/16B3,pg-b:5432=0/AB" <-> {"pg-a:5432": "0/16B3", ...}; malformed parts are dropped. */
export function encodeLsns(lsns: LsnByDatabase): string {
  return Object.entries(lsns)
    .map(([database, lsn]) => `${database}=${lsn}`)
    .join(",");
}

export function decodeLsns(value: unknown): LsnByDatabase | undefined {
  if (typeof value !== "string" || value.length > 512) return undefined;
  const entries = value.split(",").flatMap((part) => {
    const match = /^([A-Za-z0-9_.:-]{1,255})=([0-9A-F]{1,8}\/[0-9A-F]{1,8})$/i.exec(part.trim());
    return match ? [[match[1]!, match[2]!.toUpperCase()] as const] : [];
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** Notes a write's WAL position in the current call, to be reported to the caller. */
export function recordWrittenLsn(database: string, lsn: string): void {
  const context = currentRequestContext();
  if (context) context.writtenLsn = mergeLsns(context.writtenLsn, { [database]: lsn });
}

/** The position reads of `database` must reach in the current call: the caller's and this call's own writes. */
export function requiredLsn(database: string): string | undefined {
  const context = currentRequestContext();
  return laterLsn(context?.minLsn?.[database], context?.writtenLsn?.[database]);
}

/** Runs `work` with its reads sent to the leader (see RequestContext.readLeader), keeping the request id. */
export function readingFromLeader<T>(work: () => Promise<T>): Promise<T> {
  const current = currentRequestContext();
  return runWithRequestContext({ ...(current ?? { requestId: newRequestId() }), readLeader: true }, work);
}
