import { inRequestedOrder, invalidArgument, notFound, pageSize } from "@fanfare/runtime";
import type { FriendshipsRepository } from "../data-access/friendships-repository.js";
import type { UserRow, UsersRepository } from "../data-access/users-repository.js";
import { hashPassword, verifyPassword } from "./password.js";
import {
  prefixPattern,
  requireDifferentUsers,
  SEARCH_DEFAULT_LIMIT,
  SEARCH_MAX_LIMIT,
  validateNewUser,
  type NewUser,
} from "./users.js";

/** Follower ids per ListFollowers page: fan-out walks pages of this size by default. */
const FOLLOWERS_DEFAULT_PAGE = 1_000;
/** A bigger page holds too many ids in one message; fan-out chunks are smaller anyway. */
const FOLLOWERS_MAX_PAGE = 10_000;
/** Largest fan-out chunk a caller may plan: a job's followers are read in one page (FOLLOWERS_MAX_PAGE). */
const CHUNK_SIZE_MAX = FOLLOWERS_MAX_PAGE;
/** Follower rows one ListFollowerChunkBounds call scans at most, so a call stays well under a second. */
const CHUNK_BOUNDS_MAX_SCAN = 200_000;
/** Users per BatchGetUsers call; a feed page needs a few dozen. */
export const BATCH_GET_MAX = 1_000;

/** The social graph's use cases; ids arrive validated by the transport layer. */
export class SocialGraph {
  constructor(
    private readonly users: UsersRepository,
    private readonly friendships: FriendshipsRepository,
  ) {}

  async register(input: NewUser): Promise<UserRow> {
    const user = validateNewUser(input);
    return this.users.insert(user, await hashPassword(user.password));
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

  /** Unknown user: NOT_FOUND, so the caller can tell "no such user" from "wrong password". */
  async checkPassword(userId: string, password: string): Promise<boolean> {
    const hash = await this.users.passwordHash(userId);
    if (hash === undefined) throw notFound("user not found");
    return verifyPassword(password, hash);
  }

  async follow(userId: string, friendId: string): Promise<boolean> {
    requireDifferentUsers(userId, friendId);
    const change = await this.friendships.add(userId, friendId);
    if (change === "unknown-user") throw notFound("user not found");
    return change === "changed";
  }

  async unfollow(userId: string, friendId: string): Promise<boolean> {
    requireDifferentUsers(userId, friendId);
    const change = await this.friendships.remove(userId, friendId);
    if (change === "unknown-user") throw notFound("user not found");
    return change === "changed";
  }

  celebrities(): Promise<string[]> {
    return this.friendships.celebrities();
  }

  friendsOf(userId: string): Promise<string[]> {
    return this.friendships.friendsOf(userId);
  }

  async followersPage(userId: string, afterId: string | null, requestedSize: number): Promise<{ ids: string[]; next: string | null }> {
    const size = pageSize(requestedSize, FOLLOWERS_DEFAULT_PAGE, FOLLOWERS_MAX_PAGE);
    const ids = await this.friendships.followersPage(userId, afterId, size);
    return { ids, next: ids.length === size ? ids[ids.length - 1]! : null };
  }

  /** The last follower id of each keyset range of `chunkSize` followers, a bounded number per call. */
  async followerChunkBounds(userId: string, afterId: string | null, chunkSize: number, requestedBounds: number): Promise<{ bounds: string[]; done: boolean }> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > CHUNK_SIZE_MAX) throw invalidArgument(`chunk_size must be from 1 to ${CHUNK_SIZE_MAX}`);
    const maxScanBounds = Math.max(1, Math.floor(CHUNK_BOUNDS_MAX_SCAN / chunkSize));
    const maxBounds = pageSize(requestedBounds, maxScanBounds, maxScanBounds);
    const { bounds, scanned } = await this.friendships.followerChunkBounds(userId, afterId, chunkSize, maxBounds);
    return { bounds, done: scanned < chunkSize * maxBounds };
  }
}
