import { packUuids, UUID_BYTES, uuidFromBytes, writeUuidBytes } from "@fanfare/runtime";

/** XORed into every byte of a post id to make its timeline member (below). */
const INVERTED = 0xff;

/**
 * Post ids are UUID v7, whose 16 raw bytes sort in creation order. A timeline stores each id with
 * every byte inverted (all scores 0), so its members sort newest first: a new post, the one fan-out
 * adds, goes in at the head of the listpack after one comparison. Stored as the id itself it
 * sorted last, and Redis compared its way along the whole listpack to put it there: 58-61 µs
 * against 22-24 µs per ZADD into a 999-entry timeline (INFO commandstats, 3000 adds each, one run),
 * for every follower of every post. The oldest posts, the ones a trim drops, now sit at the tail,
 * next to the marker, so a trim moves nothing either.
 */
export function timelineMember(postId: string): Buffer {
  const member = Buffer.allocUnsafe(UUID_BYTES);
  writeUuidBytes(postId, member, 0, INVERTED);
  return member;
}

export function postIdOfMember(member: Uint8Array): string {
  return uuidFromBytes(member, 0, INVERTED);
}

/** Timeline members back to back, one buffer (a rebuild's commit takes them as one argument). */
export function packTimelineMembers(postIds: string[]): Buffer {
  return packUuids(postIds, INVERTED);
}

export function isPostMember(member: Uint8Array): boolean {
  return member.length === UUID_BYTES;
}

/**
 * A timeline's last member (score MARKER_SCORE, above every post's 0) says where its history
 * ends, and that it is built at all, so an empty feed is still a cached feed and never rebuilt:
 * - HISTORY_END: nothing older exists than what the timeline holds (its authors' whole history);
 * - HISTORY_CUT: older posts may exist (it was trimmed, or built from a full window), so a page that
 *   runs past it continues in the posts service, just below its oldest post.
 */
export const HISTORY_CUT = Buffer.from([0]);
export const HISTORY_END = Buffer.from([1]);
export const MARKER_SCORE = 1;
