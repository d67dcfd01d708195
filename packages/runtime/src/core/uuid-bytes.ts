/**
 * UUIDs as their 16 raw bytes (RFC 9562 byte order): half the size of the text form, and for UUID v7
 * the byte order is the creation order. Redis timelines store post ids this way, and follower lists
 * cross the wire this way (ListFollowerChunks, fan-out jobs) packed back to back.
 */
export const UUID_BYTES = 16;

export function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ""), "hex");
}

/** The UUID whose bytes start at `offset` of `bytes`. */
export function uuidFromBytes(bytes: Uint8Array, offset = 0): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset + offset, UUID_BYTES).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** UUIDs packed back to back, as a list; undefined when the length is not a whole number of them. */
export function unpackUuids(packed: Uint8Array): string[] | undefined {
  if (packed.length % UUID_BYTES !== 0) return undefined;
  const ids = new Array<string>(packed.length / UUID_BYTES);
  for (let i = 0; i < ids.length; i++) ids[i] = uuidFromBytes(packed, i * UUID_BYTES);
  return ids;
}
