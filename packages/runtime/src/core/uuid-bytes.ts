/**
 * UUIDs as their 16 raw bytes (RFC 9562 byte order): half the size of the text form, and for UUID v7
 * the byte order is the creation order. Redis timelines store post ids this way, and id lists cross
 * the wire this way (ListFollowerChunks, fan-out jobs, ListRecentPostIdsByAuthors) packed back to back.
 *
 * The conversions run per fan of a celebrity post and per post of a rebuilt timeline, so they go
 * through lookup tables into preallocated buffers: a thousand ids packed in 0.13 ms against 0.57-0.92
 * ms for a regex and a Buffer per id, five thousand unpacked in 0.64-0.94 ms against 2.0-2.3 (one run).
 */
export const UUID_BYTES = 16;
/** Characters of the text form (8-4-4-4-12 hex digits and dashes). */
const UUID_CHARS = 36;
/** Where each byte's two hex digits start in the text form. */
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const DASH = 0x2d;
/** Hex digit value by character code (either case), -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}
const HEX_DIGIT = Buffer.from("0123456789abcdef", "latin1");

/**
 * Writes the UUID's 16 bytes at `offset` of `target`, each XORed with `xor` (0xff: inverted, as
 * timelines store post ids). Throws on text that is not a UUID: callers validate ids at the edge,
 * so this is a bug, not bad input.
 */
export function writeUuidBytes(uuid: string, target: Uint8Array, offset: number, xor = 0): void {
  if (uuid.length !== UUID_CHARS) throw new TypeError(`not a UUID: ${uuid}`);
  for (let i = 0; i < UUID_BYTES; i++) {
    const at = DIGIT_AT[i]!;
    const high = HEX_VALUE[uuid.charCodeAt(at)] ?? -1;
    const low = HEX_VALUE[uuid.charCodeAt(at + 1)] ?? -1;
    if ((high | low) < 0) throw new TypeError(`not a UUID: ${uuid}`);
    target[offset + i] = ((high << 4) | low) ^ xor;
  }
}

export function uuidToBytes(uuid: string): Buffer {
  const bytes = Buffer.allocUnsafe(UUID_BYTES);
  writeUuidBytes(uuid, bytes, 0);
  return bytes;
}

/** UUIDs back to back in one buffer, each byte XORed with `xor` (see writeUuidBytes). */
export function packUuids(uuids: readonly string[], xor = 0): Buffer {
  const packed = Buffer.allocUnsafe(uuids.length * UUID_BYTES);
  for (let i = 0; i < uuids.length; i++) writeUuidBytes(uuids[i]!, packed, i * UUID_BYTES, xor);
  return packed;
}

/** The UUID whose bytes start at `offset` of `bytes`, each XORed with `xor` first. */
export function uuidFromBytes(bytes: Uint8Array, offset = 0, xor = 0): string {
  if (offset < 0 || offset + UUID_BYTES > bytes.length) throw new RangeError(`no UUID at byte ${offset} of ${bytes.length}`);
  const text = Buffer.allocUnsafe(UUID_CHARS);
  writeUuidText(bytes, offset, xor, text, 0);
  return text.toString("latin1", 0, UUID_CHARS);
}

/** UUIDs packed back to back, as a list; undefined when the length is not a whole number of them. */
export function unpackUuids(packed: Uint8Array): string[] | undefined {
  if (packed.length % UUID_BYTES !== 0) return undefined;
  const count = packed.length / UUID_BYTES;
  // One text for all, cut into ids: one native string per list instead of one per id.
  const text = Buffer.allocUnsafe(count * UUID_CHARS);
  for (let i = 0; i < count; i++) writeUuidText(packed, i * UUID_BYTES, 0, text, i * UUID_CHARS);
  const all = text.toString("latin1");
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = all.slice(i * UUID_CHARS, (i + 1) * UUID_CHARS);
  return ids;
}

function writeUuidText(bytes: Uint8Array, offset: number, xor: number, text: Buffer, at: number): void {
  let out = at;
  for (let i = 0; i < UUID_BYTES; i++) {
    const byte = bytes[offset + i]! ^ xor;
    text[out++] = HEX_DIGIT[byte >> 4]!;
    text[out++] = HEX_DIGIT[byte & 0x0f]!;
    if (i === 3 || i === 5 || i === 7 || i === 9) text[out++] = DASH;
  }
}
