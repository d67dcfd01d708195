import { inRequestedOrder, invalidArgument, notFound, pageSize, resourceExhausted, UUID_BYTES } from "@fanfare/runtime";
import type { FollowedCounts, FriendshipsRepository, FriendshipsTransaction } from "../data-access/friendships-repository.js";
import type { LoginFailuresRepository } from "../data-access/login-failures-repository.js";
import type { UserRow, UsersRepository } from "../data-access/users-repository.js";
import { isCelebrity, type CelebrityRule } from "./celebrity.js";
import type { PasswordHasher } from "./password.js";
import { prefixPattern, requireDifferentUsers, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT, validateNewUser, type NewUser } from "./users.js";

/** Follower ids per ListFollowers page: fan-out walks pages of this size by default. */
const FOLLOWERS_DEFAULT_PAGE = 1_000;
/** A bigger page holds too many ids in one message; fan-out chunks are smaller anyway. */
const FOLLOWERS_MAX_PAGE = 10_000;
/** Largest fan-out chunk a caller may ask for: 10K ids are a 160 KB job, well under NATS's 1 MB message limit. */
const CHUNK_SIZE_MAX = 10_000;
/**
 * Follower ids one ListFollowerChunks call answers at most: 1.6 MB, under gRPC's default 4 MB
 * message limit (grpcurl's too), and tens of milliseconds of index scan, so a million followers
 * take ten calls and the first chunks are queued while the rest are read.
 */
const CHUNKS_MAX_IDS = 100_000;
/** Users per BatchGetUsers call; a feed page needs a few dozen. */
export const BATCH_GET_MAX = 1_000;

/** Failed logins allowed per window before that account, or that client address, must wait for the window's end. */
/** What a follow or unfollow came to; "unknown-user" is kept as the result so an idempotent repeat answers it again. */
type FriendshipChange = "changed" | "unchanged" | "unknown-user";

export interface LoginLimits {
  account: number;
  address: number;
}

/** The social graph's use cases; ids arrive validated by the transport layer. */
export class SocialGraph {
  constructor(
    private readonly users: UsersRepository,
    private readonly friendships: FriendshipsRepository,
    private readonly loginFailures: LoginFailuresRepository,
    private readonly hasher: PasswordHasher,
    private readonly loginLimits: LoginLimits,
    private readonly celebrityRule: CelebrityRule,
  ) {}

  async register(input: NewUser): Promise<UserRow> {
    const { password, ...profile } = validateNewUser(input);
    return this.users.insert({ ...profile, passwordHash: await this.hasher.hash(password) });
  }

  async getUser(id: string): Promise<UserRow> {
    const user = await this.users.findById(id);
    if (!user) throw notFound("user not found");
    return user;
  }

  /** In the order asked, unknown ids left out. */
  async getUsers(ids: string[]): Promise<UserRow[]> {
    return inRequestedOrder(ids, await this.users.findByIds([...new Set(ids)]));
  }

  search(firstNamePrefix: string, lastNamePrefix: string, limit: number): Promise<UserRow[]> {
    return this.users.searchByNamePrefixes(
      prefixPattern(firstNamePrefix, "first_name"),
      prefixPattern(lastNamePrefix, "last_name"),
      pageSize(limit, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT),
    );
  }

  /**
   * Unknown user: NOT_FOUND, so the caller can tell "no such user" from "wrong password". Attempts
   * are counted per account and per client address before the password is checked (atomically, so
   * concurrent guesses cannot slip past the limit together); past the limits the caller is refused
   * before any hashing (RESOURCE_EXHAUSTED with the seconds to wait), so guessing costs no CPU and
   * gets nowhere. A success clears the account's count and gives the address its attempt back.
   */
  async checkPassword(userId: string, password: string, clientAddress: string): Promise<boolean> {
    const hash = await this.users.passwordHash(userId);
    const keys = { account: userId, address: clientAddress };
    const windows = await this.loginFailures.reserve(hash === undefined ? { address: clientAddress } : keys);
    const blocked = windows.filter((window) => window.failures > this.loginLimits[window.scope]);
    if (blocked.length > 0)
      throw resourceExhausted(
        "too many failed logins; try again later",
        Math.ceil(Math.max(...blocked.map((window) => window.secondsLeft))),
      );
    if (hash === undefined) throw notFound("user not found");
    const valid = await this.hasher.verify(password, hash);
    if (valid) await this.loginFailures.forgive(keys);
    return valid;
  }

  /**
   * user follows friend: the row, both counters, the friend's celebrity flag when the count crosses
   * the threshold, and the graph events commit together or not at all.
   */
  async follow(userId: string, friendId: string): Promise<boolean> {
    requireDifferentUsers(userId, friendId);
    const change = await this.friendships.inTransaction("friendships.add", { userId, friendId }, async (tx): Promise<FriendshipChange> => {
      if (!(await tx.lockBothUsers(userId, friendId))) return "unknown-user";
      if (!(await tx.insert(userId, friendId))) return "unchanged";
      await this.applyCelebrityRule(tx, friendId, await tx.adjustCounters(userId, friendId, +1));
      await tx.recordFriendAdded(userId, friendId);
      return "changed";
    });
    return changed(change);
  }

  async unfollow(userId: string, friendId: string): Promise<boolean> {
    requireDifferentUsers(userId, friendId);
    const change = await this.friendships.inTransaction(
      "friendships.remove",
      { userId, friendId },
      async (tx): Promise<FriendshipChange> => {
        if (!(await tx.lockBothUsers(userId, friendId))) return "unknown-user";
        if (!(await tx.delete(userId, friendId))) return "unchanged";
        await this.applyCelebrityRule(tx, friendId, await tx.adjustCounters(userId, friendId, -1));
        await tx.recordFriendRemoved(userId, friendId);
        return "changed";
      },
    );
    return changed(change);
  }

  /** Flips the celebrity flag (and says so in graph.celebrity.changed) when the follower count crossed the rule. */
  private async applyCelebrityRule(tx: FriendshipsTransaction, userId: string, counts: FollowedCounts): Promise<void> {
    const celebrity = isCelebrity(counts.wasCelebrity, counts.followers, this.celebrityRule);
    if (celebrity === counts.wasCelebrity) return;
    await tx.setCelebrity(userId, celebrity);
    await tx.recordCelebrityChanged(userId, celebrity, counts.followers);
  }

  celebrities(): Promise<string[]> {
    return this.users.celebrities();
  }

  friendsOf(userId: string): Promise<string[]> {
    return this.friendships.friendsOf(userId);
  }

  async followersPage(userId: string, afterId: string | null, requestedSize: number): Promise<{ ids: string[]; next: string | null }> {
    const size = pageSize(requestedSize, FOLLOWERS_DEFAULT_PAGE, FOLLOWERS_MAX_PAGE);
    const ids = await this.friendships.followersPage(userId, afterId, size);
    return { ids, next: ids.length === size ? ids[ids.length - 1]! : null };
  }

  /**
   * The followers after `afterId` in chunks of `chunkSize` ids (each 16-byte ids back to back), as
   * many chunks as one call may carry; `done` when the list ends with the last chunk.
   */
  async followerChunks(
    userId: string,
    afterId: string | null,
    chunkSize: number,
    requestedChunks: number,
  ): Promise<{ chunks: Buffer[]; done: boolean }> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > CHUNK_SIZE_MAX)
      throw invalidArgument(`chunk_size must be from 1 to ${CHUNK_SIZE_MAX}`);
    const maxChunks = Math.max(1, Math.floor(CHUNKS_MAX_IDS / chunkSize));
    const wanted = chunkSize * pageSize(requestedChunks, maxChunks, maxChunks);
    const packed = await this.friendships.followerIdsPacked(userId, afterId, wanted);
    const chunkBytes = chunkSize * UUID_BYTES;
    const chunks: Buffer[] = [];
    for (let at = 0; at < packed.length; at += chunkBytes) chunks.push(packed.subarray(at, at + chunkBytes));
    return { chunks, done: packed.length < wanted * UUID_BYTES };
  }
}

function changed(change: FriendshipChange): boolean {
  if (change === "unknown-user") throw notFound("user not found");
  return change === "changed";
}
