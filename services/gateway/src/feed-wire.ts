import { isUtf8 } from "node:buffer";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { makeGenericClientConstructor, type CallOptions, type ChannelCredentials, type Client, type ClientOptions } from "@grpc/grpc-js";
import type { ClientUnaryCall, Metadata, ServiceError } from "@grpc/grpc-js";
import { feed } from "@fanfare/contracts";

// GetFeeds' answers turned straight into the bytes of the JSON body the REST route sends. The
// generated decoder made a Post object per post, two Timestamps turned into Dates, and UTF-8
// decoded strings, which the route then mapped to the contract's shape and serialised again: a
// fifth of the gateway's CPU per feed read in profiles. Here the three fields the contract names
// are located on the wire and their bytes copied between the JSON around them: a string holds
// valid UTF-8 and needs no escape in nearly every post, and only one that does (a quote, a
// backslash, a control character, or bytes that are not UTF-8) is decoded and escaped by
// JSON.stringify. Timestamps and fields this gateway does not know are skipped unread.
// The unit suite checks the bytes against the generated decoder's answer serialised as before.

/** Field number << 3 | wire type, as the generated code writes them (feed.proto, posts.proto). */
const RESULTS_TAG = (1 << 3) | WireType.LengthDelimited;
const POSTS_TAG = (1 << 3) | WireType.LengthDelimited;
const STATUS_CODE_TAG = (2 << 3) | WireType.Varint;
const STATUS_MESSAGE_TAG = (3 << 3) | WireType.LengthDelimited;
const POST_ID_TAG = (1 << 3) | WireType.LengthDelimited;
const POST_AUTHOR_TAG = (2 << 3) | WireType.LengthDelimited;
const POST_TEXT_TAG = (3 << 3) | WireType.LengthDelimited;

/** The JSON around a post's three strings, its keys in the order the route always wrote them. */
const POST_OPEN = Buffer.from('{"id":"');
const TEXT_KEY = Buffer.from('","text":"');
const AUTHOR_KEY = Buffer.from('","author_user_id":"');
const POST_CLOSE = Buffer.from('"}');
const ARRAY_OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const ARRAY_CLOSE = Buffer.from("]");
const EMPTY: Uint8Array = new Uint8Array(0);

/** One page of a GetFeeds answer: the bytes of a JSON array of the contract's Post, or the status GetFeed would have failed with. */
export interface FeedPageJson {
  json: Buffer;
  statusCode: number;
  statusMessage: string;
}

export interface FeedPagesJson {
  results: FeedPageJson[];
}

export function decodeFeedPagesJson(bytes: Uint8Array): FeedPagesJson {
  const reader = new BinaryReader(bytes);
  const results: FeedPageJson[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === RESULTS_TAG) results.push(readPage(reader, bytes, endOfField(reader)));
    else reader.skip(tag & 7);
  }
  return { results };
}

function readPage(reader: BinaryReader, bytes: Uint8Array, end: number): FeedPageJson {
  const parts: Uint8Array[] = [ARRAY_OPEN];
  let statusCode = 0;
  let statusMessage = "";
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === POSTS_TAG) {
      if (parts.length > 1) parts.push(COMMA);
      pushPostJson(parts, reader, bytes, endOfField(reader));
    } else if (tag === STATUS_CODE_TAG) statusCode = reader.int32();
    else if (tag === STATUS_MESSAGE_TAG) statusMessage = reader.string();
    else reader.skip(tag & 7);
  }
  parts.push(ARRAY_CLOSE);
  return {
    json: Buffer.concat(
      parts,
      parts.reduce((length, part) => length + part.length, 0),
    ),
    statusCode,
    statusMessage,
  };
}

function pushPostJson(parts: Uint8Array[], reader: BinaryReader, bytes: Uint8Array, end: number): void {
  let id = EMPTY;
  let authorUserId = EMPTY;
  let text = EMPTY;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === POST_ID_TAG) id = stringBytes(reader, bytes);
    else if (tag === POST_AUTHOR_TAG) authorUserId = stringBytes(reader, bytes);
    else if (tag === POST_TEXT_TAG) text = stringBytes(reader, bytes);
    else reader.skip(tag & 7);
  }
  parts.push(POST_OPEN, jsonStringContent(id), TEXT_KEY, jsonStringContent(text), AUTHOR_KEY, jsonStringContent(authorUserId), POST_CLOSE);
}

/** A string field's bytes, still UTF-8, as a view (not a copy) of the answer. */
function stringBytes(reader: BinaryReader, bytes: Uint8Array): Uint8Array {
  const end = endOfField(reader);
  const view = bytes.subarray(reader.pos, end);
  reader.pos = end;
  return view;
}

/** What goes between a JSON string's quotes for these UTF-8 bytes: themselves, unless JSON.stringify would write them otherwise. */
function jsonStringContent(utf8: Uint8Array): Uint8Array {
  let ascii = true;
  for (let i = 0; i < utf8.length; i++) {
    const byte = utf8[i]!;
    if (byte < 0x20 || byte === 0x22 || byte === 0x5c) return escaped(utf8);
    if (byte >= 0x80) ascii = false;
  }
  return ascii || isUtf8(utf8) ? utf8 : escaped(utf8);
}

/** JSON.stringify's escaping (bytes that are not UTF-8 become U+FFFD on decoding, as with the generated decoder). */
function escaped(utf8: Uint8Array): Uint8Array {
  const quoted = JSON.stringify(Buffer.from(utf8.buffer, utf8.byteOffset, utf8.length).toString("utf8"));
  return Buffer.from(quoted.slice(1, -1));
}

/** Reads a length-delimited field's length; returns where the field ends. */
function endOfField(reader: BinaryReader): number {
  const length = reader.uint32();
  return reader.pos + length;
}

/** The feed service's GetFeeds, its answer decoded by decodeFeedPagesJson; the feed's other methods stay on the generated client. */
export interface FeedPagesClient extends Client {
  getFeeds(
    request: feed.GetFeedsRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: FeedPagesJson) => void,
  ): ClientUnaryCall;
}

const FeedPagesService = {
  getFeeds: { ...feed.FeedServiceService.getFeeds, responseDeserialize: (bytes: Buffer) => decodeFeedPagesJson(bytes) },
} as const;

export const FeedPagesClient = makeGenericClientConstructor(FeedPagesService, "fanfare.feed.v1.FeedService") as unknown as {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): FeedPagesClient;
  service: typeof FeedPagesService;
};
