/**
 * Post ids are UUID v7; in Redis they are stored as their 16 raw bytes, which sort in creation
 * order and take 16 bytes instead of 36.
 */
export function toBinaryId(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ""), "hex");
}

export function fromBinaryId(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Marks a timeline as built. It is the lowest member (one zero byte sorts before any 16-byte id),
 * so an empty feed is still a cached feed and never triggers a rebuild.
 */
export const BUILT_MARKER = Buffer.from([0]);
