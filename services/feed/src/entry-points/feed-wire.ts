import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { feed, posts } from "@fanfare/contracts";
import type { FeedPost } from "../domain/feed-reader.js";

// GetFeed's and GetFeeds' answers, written with the cached post bodies spliced in as they are.
// A `repeated Post posts = 1` field is, on the wire, one length-delimited field 1 per post holding
// the post's encoding, which is exactly what the post cache stores: the bytes go in untouched, and
// only posts read from the posts service are encoded here. Callers decode the answers with the
// generated GetFeedResponse / GetFeedsResponse as ever (the unit suite checks both ways agree).

/** The generated tags of these fields: field number << 3 | wire type 2 (length-delimited) or 0 (varint). */
const POSTS_TAG = (1 << 3) | 2;
const RESULTS_TAG = (1 << 3) | 2;
const STATUS_CODE_TAG = (2 << 3) | 0;
const STATUS_MESSAGE_TAG = (3 << 3) | 2;

export interface FeedAnswer {
  posts: FeedPost[];
}

export interface FeedPageAnswer extends FeedAnswer {
  statusCode: number;
  statusMessage: string;
}

export interface FeedsAnswer {
  results: FeedPageAnswer[];
}

function writePosts(writer: BinaryWriter, page: FeedPost[]): void {
  for (const post of page) {
    if (post instanceof Uint8Array) writer.uint32(POSTS_TAG).bytes(post);
    else posts.Post.encode(post, writer.uint32(POSTS_TAG).fork()).join();
  }
}

export function encodeFeedAnswer(answer: FeedAnswer): Buffer {
  const writer = new BinaryWriter();
  writePosts(writer, answer.posts);
  return asBuffer(writer.finish());
}

export function encodeFeedsAnswer(answer: FeedsAnswer): Buffer {
  const writer = new BinaryWriter();
  for (const result of answer.results) {
    writer.uint32(RESULTS_TAG).fork();
    writePosts(writer, result.posts);
    if (result.statusCode !== 0) writer.uint32(STATUS_CODE_TAG).int32(result.statusCode);
    if (result.statusMessage !== "") writer.uint32(STATUS_MESSAGE_TAG).string(result.statusMessage);
    writer.join();
  }
  return asBuffer(writer.finish());
}

/** grpc-js sends Buffers; this one shares the writer's bytes instead of copying them. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** FeedService as generated, its two feed reads answering with spliced bodies. */
export const FeedServiceWire = {
  ...feed.FeedServiceService,
  getFeed: { ...feed.FeedServiceService.getFeed, responseSerialize: encodeFeedAnswer },
  getFeeds: { ...feed.FeedServiceService.getFeeds, responseSerialize: encodeFeedsAnswer },
} as const;
