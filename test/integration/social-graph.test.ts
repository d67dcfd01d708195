import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import pg from "pg";
import { events, socialgraph } from "@fanfare/contracts";
import { RETRY_AFTER_KEY, unpackUuids } from "@fanfare/runtime";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";
import { drainNats, type NatsConnection } from "@fanfare/runtime/events";
import { loadSocialGraphConfig, startSocialGraph } from "@fanfare/social-graph";
import { databaseEnv, TEST_DATABASES, testEnv } from "../support/env.js";
import { collectEvents, natsConnection, itAsCaller } from "../support/grpc.js";
import { eventually } from "../support/http.js";
import { mesh, type Mesh } from "../support/mesh.js";

describe("social-graph service (gRPC, real PostgreSQL and JetStream)", function () {
  this.timeout(30_000);
  let m: Mesh;
  let client: PromiseClient<socialgraph.SocialGraphServiceClient>;
  let db: pg.Pool;
  let nats: NatsConnection;

  before(async () => {
    m = await mesh();
    client = createGrpcClient(socialgraph.SocialGraphServiceClient, m.addresses.socialGraph);
    db = new pg.Pool({ connectionString: TEST_DATABASES.socialGraph, max: 2 });
    nats = await natsConnection();
  });
  after(async () => {
    client.close();
    await db.end();
    await drainNats(nats);
  });

  const register = async (firstName = `Имя${randomUUID().slice(0, 6)}`, secondName = "Фамилия") =>
    (await client.registerUser({ firstName, secondName, birthdate: "", biography: "", city: "", password: "s3cret" })).user!;
  const user = async (id: string) => (await client.getUser({ userId: id })).user!;
  const grpcCode = (promise: Promise<unknown>) =>
    promise.then(
      () => "OK",
      (error: { code: number }) => status[error.code],
    );

  itAsCaller("stores only an scrypt hash of the password and verifies it", async () => {
    const created = await register();
    const { rows } = await db.query("SELECT password_hash FROM users WHERE id = $1", [created.id]);
    expect(rows[0].password_hash)
      .to.match(/^scrypt\$/)
      .and.not.include("s3cret");
    expect((await client.verifyPassword({ userId: created.id, password: "s3cret", clientAddress: "" })).valid).to.equal(true);
    expect((await client.verifyPassword({ userId: created.id, password: "S3cret", clientAddress: "" })).valid).to.equal(false);
    expect(await grpcCode(client.verifyPassword({ userId: randomUUID(), password: "x", clientAddress: "" }))).to.equal("NOT_FOUND");
  });

  /** The seconds a throttled login is told to wait, or undefined when it was not throttled. */
  const retryAfter = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: { code: number; metadata: { get: (key: string) => unknown[] } }) => {
        expect(status[error.code]).to.equal("RESOURCE_EXHAUSTED");
        return Number(error.metadata.get(RETRY_AFTER_KEY)[0]);
      },
    );

  itAsCaller("refuses an account's logins after 5 failures in 15 minutes, before hashing, and a success clears the count", async () => {
    const [victim, bystander] = [await register(), await register()];
    const address = `test-${randomUUID()}`;
    const attempt = (userId: string, password: string) => client.verifyPassword({ userId, password, clientAddress: address });
    for (let i = 0; i < 4; i++) expect((await attempt(victim.id, `guess-${i}`)).valid).to.equal(false);
    expect((await attempt(victim.id, "s3cret")).valid, "a success under the limit").to.equal(true);
    for (let i = 0; i < 5; i++)
      expect((await attempt(victim.id, `guess-${i}`)).valid, "the count restarted after the success").to.equal(false);
    const wait = await retryAfter(attempt(victim.id, "guess-6"));
    expect(wait).to.be.within(1, 900);
    expect(await retryAfter(attempt(victim.id, "s3cret")), "even the right password waits").to.be.within(1, 900);
    expect((await attempt(bystander.id, "s3cret")).valid, "another account from the same address").to.equal(true);
  });

  itAsCaller("refuses a client address's logins past its limit, across accounts and unknown users", async () => {
    const own = await startSocialGraph(
      loadSocialGraphConfig({ ...testEnv, ...databaseEnv("fanfare_test_social_graph"), LOGIN_MAX_FAILURES_PER_ADDRESS: "3" }),
    );
    const ownClient = createGrpcClient(socialgraph.SocialGraphServiceClient, `127.0.0.1:${own.port}`);
    try {
      const [a, b] = [await register(), await register()];
      const address = `test-${randomUUID()}`;
      const attempt = (userId: string, password: string) => ownClient.verifyPassword({ userId, password, clientAddress: address });
      expect((await attempt(a.id, "wrong")).valid).to.equal(false);
      expect((await attempt(b.id, "wrong")).valid).to.equal(false);
      expect(await grpcCode(attempt(randomUUID(), "wrong"))).to.equal("NOT_FOUND");
      expect(await retryAfter(attempt(b.id, "s3cret"))).to.be.within(1, 900);
      expect(
        (await ownClient.verifyPassword({ userId: b.id, password: "s3cret", clientAddress: `test-${randomUUID()}` })).valid,
        "from elsewhere",
      ).to.equal(true);
    } finally {
      ownClient.close();
      await own.stop();
    }
  });

  itAsCaller("batch-gets users in the order asked, leaving unknown ids out", async () => {
    const [a, b] = [await register(), await register()];
    const { users } = await client.batchGetUsers({ userIds: [b.id, randomUUID(), a.id, b.id] });
    expect(users.map((u) => u.id)).to.deep.equal([b.id, a.id, b.id]);
  });

  itAsCaller("adds and removes friendships idempotently, keeping both counters exact", async () => {
    const [a, b] = [await register(), await register()];
    expect((await client.addFriend({ userId: a.id, friendId: b.id })).created).to.equal(true);
    expect((await client.addFriend({ userId: a.id, friendId: b.id })).created).to.equal(false);
    expect((await user(b.id)).followerCount).to.equal(1);
    expect((await user(a.id)).friendCount).to.equal(1);
    expect((await client.listFriends({ userId: a.id })).friendIds).to.deep.equal([b.id]);
    expect((await client.removeFriend({ userId: a.id, friendId: b.id })).removed).to.equal(true);
    expect((await client.removeFriend({ userId: a.id, friendId: b.id })).removed).to.equal(false);
    expect((await user(b.id)).followerCount).to.equal(0);
    expect((await user(a.id)).friendCount).to.equal(0);
  });

  itAsCaller("refuses self-friendship and unknown users", async () => {
    const a = await register();
    expect(await grpcCode(client.addFriend({ userId: a.id, friendId: a.id }))).to.equal("INVALID_ARGUMENT");
    expect(await grpcCode(client.addFriend({ userId: a.id, friendId: randomUUID() }))).to.equal("NOT_FOUND");
    expect(await grpcCode(client.addFriend({ userId: randomUUID(), friendId: a.id }))).to.equal("NOT_FOUND");
    expect(await grpcCode(client.getUser({ userId: "nope" }))).to.equal("INVALID_ARGUMENT");
  });

  itAsCaller("keeps follower_count exact under concurrent follows, repeats, unfollows and opposite-direction pairs", async () => {
    const star = await register();
    const fans = await Promise.all(Array.from({ length: 20 }, () => register()));
    await Promise.all(
      fans.flatMap((fan) => [
        client.addFriend({ userId: fan.id, friendId: star.id }),
        client.addFriend({ userId: fan.id, friendId: star.id }),
      ]),
    );
    expect((await user(star.id)).followerCount).to.equal(20);
    await Promise.all([
      ...fans.slice(0, 10).map((fan) => client.removeFriend({ userId: fan.id, friendId: star.id })),
      ...fans.map((fan) => client.addFriend({ userId: star.id, friendId: fan.id })),
    ]);
    expect((await user(star.id)).followerCount).to.equal(10);
    expect((await user(star.id)).friendCount).to.equal(20);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM friendships WHERE friend_id = $1", [star.id]);
    expect(rows[0].n).to.equal(10);
  });

  itAsCaller("lists followers in keyset pages that together hold each follower once", async () => {
    const star = await register();
    const fans = await Promise.all(Array.from({ length: 25 }, () => register()));
    await Promise.all(fans.map((fan) => client.addFriend({ userId: fan.id, friendId: star.id })));
    const seen: string[] = [];
    let after = "";
    let pages = 0;
    do {
      const page = await client.listFollowers({ userId: star.id, afterFollowerId: after, pageSize: 10 });
      seen.push(...page.followerIds);
      after = page.nextAfterFollowerId;
      pages++;
    } while (after !== "");
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal(fans.map((f) => f.id).sort());
  });

  itAsCaller("lists followers in chunks of packed 16-byte ids, every follower once in id order, paged by max_chunks", async () => {
    const star = await register();
    const fans = await Promise.all(Array.from({ length: 11 }, () => register()));
    await Promise.all(fans.map((fan) => client.addFriend({ userId: fan.id, friendId: star.id })));
    const ids = fans.map((f) => f.id).sort();
    const chunks: string[][] = [];
    let after = "";
    let calls = 0;
    for (let done = false; !done; calls++) {
      const page = await client.listFollowerChunks({ userId: star.id, afterFollowerId: after, chunkSize: 3, maxChunks: 2 });
      chunks.push(...page.chunks.map((chunk) => unpackUuids(chunk)!));
      after = chunks.at(-1)?.at(-1) ?? after;
      done = page.done;
    }
    // Chunks of 3 over 11 followers, two chunks a call: 3+3 | 3+2.
    expect(chunks).to.deep.equal([ids.slice(0, 3), ids.slice(3, 6), ids.slice(6, 9), ids.slice(9)]);
    expect(calls).to.equal(2);
    const one = await client.listFollowerChunks({ userId: star.id, afterFollowerId: "", chunkSize: 100, maxChunks: 0 });
    expect(one.done).to.equal(true);
    expect(one.chunks.map((chunk) => unpackUuids(chunk))).to.deep.equal([ids]);
    const none = await client.listFollowerChunks({ userId: star.id, afterFollowerId: ids.at(-1)!, chunkSize: 100, maxChunks: 0 });
    expect(none).to.deep.include({ chunks: [], done: true });
    expect(await grpcCode(client.listFollowerChunks({ userId: star.id, afterFollowerId: "", chunkSize: 0, maxChunks: 0 }))).to.equal(
      "INVALID_ARGUMENT",
    );
  });

  itAsCaller("publishes friend events to GRAPH through the outbox, with Nats-Msg-Id = event id", async () => {
    const [a, b] = [await register(), await register()];
    const added = collectEvents(nats, "graph.friend.added");
    const removed = collectEvents(nats, "graph.friend.removed");
    await nats.flush();
    try {
      await client.addFriend({ userId: a.id, friendId: b.id });
      await client.removeFriend({ userId: a.id, friendId: b.id });
      await m.socialGraph.flushOutbox();
      const mine = (list: typeof added.messages, decode: (b: Uint8Array) => { userId: string; friendId: string; eventId: string }) =>
        list
          .map((msg) => ({ event: decode(msg.data), msgId: msg.headers?.get("Nats-Msg-Id") }))
          .filter(({ event }) => event.userId === a.id);
      await eventually(async () => {
        const adds = mine(added.messages, (d) => events.FriendAdded.decode(d));
        const removes = mine(removed.messages, (d) => events.FriendRemoved.decode(d));
        expect(adds).to.have.length(1);
        expect(removes).to.have.length(1);
        expect(adds[0]!.event.friendId).to.equal(b.id);
        expect(adds[0]!.msgId).to.equal(adds[0]!.event.eventId);
      });
      const { rows } = await db.query("SELECT count(*)::int AS n FROM outbox WHERE created_at < now() - interval '10 seconds'");
      expect(rows[0].n, "outbox rows left behind").to.equal(0);
    } finally {
      await added.stop();
      await removed.stop();
    }
  });

  itAsCaller("searches through the name-prefix index, in index order, without a sort", async () => {
    const client2 = await db.connect();
    try {
      await client2.query("BEGIN");
      await client2.query("SET LOCAL enable_seqscan = off");
      const { rows } = await client2.query(
        `EXPLAIN SELECT id FROM users
         WHERE lower(first_name) COLLATE "C" LIKE lower($1) AND lower(second_name) COLLATE "C" LIKE lower($2)
         ORDER BY lower(first_name) COLLATE "C", lower(second_name) COLLATE "C", id LIMIT 50`,
        ["ив%", "п%"],
      );
      const plan = rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
      expect(plan).to.include("users_name_prefix").and.include("Index Cond");
      expect(plan).not.to.match(/\bSort\b/);
      await client2.query("ROLLBACK");
    } finally {
      client2.release();
    }
  });
});
