import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import pg from "pg";
import { connect } from "nats";
import { events, posts } from "@fanfare/contracts";
import { loadPostsConfig, startPosts } from "@fanfare/posts";
import { packUuids, unpackUuids } from "@fanfare/runtime";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";
import { drainNats, type NatsConnection } from "@fanfare/runtime/events";
import { databaseUrl, testEnv } from "../support/env.js";
import { collectEvents, natsConnection, itAsCaller } from "../support/grpc.js";
import { eventually } from "../support/http.js";
import { mesh, type Mesh } from "../support/mesh.js";
import { PrivateNats } from "../support/private-nats.js";

describe("posts service (gRPC, real PostgreSQL and JetStream)", function () {
  this.timeout(30_000);
  let m: Mesh;
  let client: PromiseClient<posts.PostsServiceClient>;
  let nats: NatsConnection;

  before(async () => {
    m = await mesh();
    client = createGrpcClient(posts.PostsServiceClient, m.addresses.posts);
    nats = await natsConnection();
  });
  after(async () => {
    client.close();
    await drainNats(nats);
  });

  const create = async (author: string, text: string) => (await client.createPost({ authorUserId: author, text })).post!;
  const grpcCode = (promise: Promise<unknown>) =>
    promise.then(
      () => "OK",
      (error: { code: number }) => status[error.code],
    );

  itAsCaller("creates, edits and deletes posts, only by their author", async () => {
    const [author, stranger] = [randomUUID(), randomUUID()];
    const post = await create(author, "hello");
    expect(post.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7/); // UUID v7
    expect(await grpcCode(client.updatePost({ actorUserId: stranger, postId: post.id, text: "mine now" }))).to.equal("PERMISSION_DENIED");
    expect((await client.updatePost({ actorUserId: author, postId: post.id, text: "edited" })).post!.text).to.equal("edited");
    expect(await grpcCode(client.deletePost({ actorUserId: stranger, postId: post.id }))).to.equal("PERMISSION_DENIED");
    await client.deletePost({ actorUserId: author, postId: post.id });
    expect(await grpcCode(client.getPost({ postId: post.id }))).to.equal("NOT_FOUND");
    expect(await grpcCode(client.updatePost({ actorUserId: author, postId: post.id, text: "x" }))).to.equal("NOT_FOUND");
  });

  itAsCaller("batch-gets posts in the order asked and lists recent posts of several authors newest first", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const made = [];
    for (let i = 0; i < 6; i++) made.push(await create(i % 2 ? a : b, `post ${i}`));
    const ids = made.map((p) => p.id);
    const { posts: batch } = await client.batchGetPosts({ postIds: [ids[3]!, randomUUID(), ids[0]!] });
    expect(batch.map((p) => p.id)).to.deep.equal([ids[3], ids[0]]);
    const recent = await client.listRecentPostsByAuthors({ authorUserIds: [a, b], offset: 1, limit: 3, beforePostId: "" });
    expect(recent.posts.map((p) => p.id)).to.deep.equal([ids[4], ids[3], ids[2]]);
    const onlyA = await client.listRecentPostsByAuthors({ authorUserIds: [a], offset: 0, limit: 10, beforePostId: "" });
    expect(onlyA.posts.map((p) => p.id)).to.deep.equal([ids[5], ids[3], ids[1]]);
    const recentIds = await client.listRecentPostIdsByAuthors({
      authorUserIds: [a, b],
      offset: 1,
      limit: 3,
      beforePostId: "",
      packed: false,
    });
    expect(recentIds.postIds).to.deep.equal([ids[4], ids[3], ids[2]]);
    expect(recentIds.packedPostIds).to.have.length(0);
    // Packed: the same page as 16-byte ids back to back, and no text.
    const packed = await client.listRecentPostIdsByAuthors({ authorUserIds: [a, b], offset: 1, limit: 3, beforePostId: "", packed: true });
    expect(packed.postIds).to.deep.equal([]);
    expect(Buffer.from(packed.packedPostIds).equals(packUuids([ids[4]!, ids[3]!, ids[2]!]))).to.equal(true);
    const none = await client.listRecentPostIdsByAuthors({
      authorUserIds: [randomUUID()],
      offset: 0,
      limit: 3,
      beforePostId: "",
      packed: true,
    });
    expect(none.packedPostIds).to.have.length(0);
    // Keyset: offset counts from just below before_post_id.
    const below = await client.listRecentPostsByAuthors({ authorUserIds: [a, b], offset: 1, limit: 2, beforePostId: ids[4]! });
    expect(below.posts.map((p) => p.id)).to.deep.equal([ids[2], ids[1]]);
    const belowIds = await client.listRecentPostIdsByAuthors({
      authorUserIds: [a, b],
      offset: 0,
      limit: 10,
      beforePostId: ids[2]!,
      packed: true,
    });
    expect(unpackUuids(belowIds.packedPostIds)).to.deep.equal([ids[1], ids[0]]);
    expect(
      await grpcCode(client.listRecentPostIdsByAuthors({ authorUserIds: [a], offset: -1, limit: 3, beforePostId: "", packed: true })),
    ).to.equal("INVALID_ARGUMENT");
    expect(
      await grpcCode(
        client.listRecentPostIdsByAuthors({ authorUserIds: [a], offset: 0, limit: 3, beforePostId: "not-a-uuid", packed: false }),
      ),
    ).to.equal("INVALID_ARGUMENT");
  });

  itAsCaller("publishes created, updated and deleted events to POSTS with their content", async () => {
    const author = randomUUID();
    const subjects = ["posts.created", "posts.updated", "posts.deleted"].map((subject) => collectEvents(nats, subject));
    await nats.flush();
    try {
      const post = await create(author, "v1");
      await client.updatePost({ actorUserId: author, postId: post.id, text: "v2" });
      await client.deletePost({ actorUserId: author, postId: post.id });
      await m.posts.flushOutbox();
      await eventually(async () => {
        const [created, updated, deleted] = subjects.map((s) => s.messages);
        const createdEvent = created!.map((msg) => events.PostCreated.decode(msg.data)).find((e) => e.postId === post.id);
        const updatedEvent = updated!.map((msg) => events.PostUpdated.decode(msg.data)).find((e) => e.postId === post.id);
        const deletedEvent = deleted!.map((msg) => events.PostDeleted.decode(msg.data)).find((e) => e.postId === post.id);
        expect(createdEvent).to.include({ authorUserId: author, text: "v1" });
        expect(updatedEvent).to.include({ authorUserId: author, text: "v2" });
        expect(deletedEvent).to.include({ authorUserId: author });
      });
    } finally {
      await Promise.all(subjects.map((s) => s.stop()));
    }
  });

  itAsCaller("keeps events through a NATS outage and publishes the backlog in order once NATS is back", async () => {
    const privateNats = await PrivateNats.start();
    const database = databaseUrl("fanfare_test_posts_outage");
    const service = await startPosts(loadPostsConfig({ ...testEnv, NATS_URL: privateNats.url, PG_PRIMARY_URL: database }));
    const outageClient = createGrpcClient(posts.PostsServiceClient, `127.0.0.1:${service.port}`);
    const db = new pg.Pool({ connectionString: database, max: 1 });
    try {
      const author = randomUUID();
      const before = await outageClient.createPost({ authorUserId: author, text: "before the outage" });
      await service.flushOutbox();
      await privateNats.pause();
      const during = [];
      for (let i = 0; i < 5; i++) during.push((await outageClient.createPost({ authorUserId: author, text: `during ${i}` })).post!.id);
      const { rows } = await db.query("SELECT count(*)::int AS n FROM outbox");
      expect(rows[0].n, "events wait in the outbox while NATS is down").to.be.at.least(5);
      await privateNats.resume();

      const expected = [before.post!.id, ...during];
      const check = await connect({ servers: privateNats.url });
      try {
        const jsm = await check.jetstreamManager();
        await eventually(
          async () => {
            const info = await jsm.streams.info("POSTS");
            const ids = [];
            for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
              const message = await jsm.streams.getMessage("POSTS", { seq });
              const event = events.PostCreated.decode(message.data);
              if (event.authorUserId === author) ids.push(event.postId);
            }
            expect(ids).to.deep.equal(expected);
          },
          15_000,
          250,
        );
      } finally {
        await check.close();
      }
      const { rows: left } = await db.query("SELECT count(*)::int AS n FROM outbox");
      expect(left[0].n).to.equal(0);
    } finally {
      outageClient.close();
      await db.end();
      await service.stop();
      await privateNats.destroy();
    }
  });
});
