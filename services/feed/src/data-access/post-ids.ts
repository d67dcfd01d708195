/**
 * Post ids are UUID v7; in Redis they are stored as their 16 raw bytes (uuidToBytes in the runtime),
 * which sort in creation order and take 16 bytes instead of 36.
 */

/**
 * A timeline's lowest member (score 0; one byte sorts before any 16-byte id) says where its history
 * ends, and that it is built at all, so an empty feed is still a cached feed and never rebuilt:
 * - HISTORY_END: nothing older exists than what the timeline holds (its authors' whole history);
 * - HISTORY_CUT: older posts may exist (it was trimmed, or built from a full window), so a page that
 *   runs past it continues in the posts service, just below its oldest post.
 * CUT is the zero byte that marked every timeline before the two were told apart: reading such a
 * timeline as cut costs a query, reading it as ended could hide history.
 */
export const HISTORY_CUT = Buffer.from([0]);
export const HISTORY_END = Buffer.from([1]);
