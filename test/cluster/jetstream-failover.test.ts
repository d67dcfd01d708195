import { expect } from "chai";
import { feed, posts, socialgraph } from "@fanfare/contracts";
import { createGrpcClient } from "@fanfare/runtime/grpc";
import { STREAMS } from "@fanfare/runtime/events";
import { eventually } from "../support/http.js";
import { mesh, type Mesh } from "../support/mesh.js";
import { natsPid, restartNatsNode, streamLeader, waitForHealthyJetStream } from "../support/clusters.js";
import { itAsCaller } from "../support/grpc.js";

const FOLLOWERS = 20;
const POSTS = 60;
const POSTS_IN_FLIGHT = 4;
/** Posts created before the leader dies, so the kill lands in the middle of the stream of writes. */
const KILL_AFTER = 15;

/**
 * `npm run test:cluster` only: the mesh runs on a 3-node JetStream cluster with streams of 3 replicas.
 * The server leading POSTS dies with SIGKILL while posts are being created: the outbox keeps every
 * event until JetStream takes it, publishes retry through the election, the consumers carry on
 * from the new leader, and every post reaches every follower, once.
 */
describe("JetStream cluster: the POSTS leader killed while posts are created", function () {
  this.timeout(180_000);
  let m: Mesh;

  before(async () => {
    m = await mesh();
  });

  itAsCaller("delivers every post to every follower exactly once", async () => {
    const graph = createGrpcClient(socialgraph.SocialGraphServiceClient, m.addresses.socialGraph);
    const postsClient = createGrpcClient(posts.PostsServiceClient, m.addresses.posts);
    const feedClient = createGrpcClient(feed.FeedServiceClient, m.addresses.feed);
    let killed: string | undefined;
    try {
      const register = async () =>
        (await graph.registerUser({ firstName: "Fan", secondName: "Fan", password: "secret", biography: "", city: "", birthdate: "" }))
          .user!.id;
      const author = await register();
      const followers = await Promise.all(Array.from({ length: FOLLOWERS }, register));
      for (const follower of followers) await graph.addFriend({ userId: follower, friendId: author });
      // Cached timelines, so fan-out writes them (an uncached one is rebuilt from the databases and proves nothing).
      for (const follower of followers) await eventually(() => feedClient.getFeed({ userId: follower, offset: 0, limit: 1 }));

      const created: string[] = [];
      let next = 0;
      const writer = async () => {
        while (next < POSTS) {
          const n = next++;
          const { post } = await postsClient.createPost({ authorUserId: author, text: `post ${n}` }, { deadlineMs: 20_000 });
          created.push(post!.id);
          if (created.length === KILL_AFTER && !killed) killed = await killStreamLeader();
        }
      };
      await Promise.all(Array.from({ length: POSTS_IN_FLIGHT }, writer));
      expect(killed, "a POSTS leader was killed").to.be.a("string");
      const successor = await eventually(async () => {
        const leader = await streamLeader(STREAMS.posts.name);
        expect(leader, "a new POSTS leader").to.be.a("string").and.not.equal(killed);
        return leader!;
      }, 30_000);
      console.log(`      killed ${killed} (POSTS leader) after ${KILL_AFTER} of ${POSTS} posts; ${successor} leads it now`);

      const expected = [...created].sort().reverse();
      const started = Date.now();
      for (const follower of followers)
        await eventually(
          async () =>
            expect((await feedClient.getFeed({ userId: follower, offset: 0, limit: 100 })).posts.map((p) => p.id)).to.deep.equal(expected),
          60_000,
          200,
        );
      console.log(`      every follower had all ${POSTS} posts, once each, ${Date.now() - started} ms after the last was created`);
    } finally {
      graph.close();
      postsClient.close();
      feedClient.close();
      if (killed) {
        await restartNatsNode(killed);
        await waitForHealthyJetStream();
      }
    }
  });
});

async function killStreamLeader(): Promise<string> {
  const leader = await eventually(async () => {
    const name = await streamLeader(STREAMS.posts.name);
    expect(name).to.be.a("string");
    return name!;
  }, 10_000);
  process.kill(natsPid(leader), "SIGKILL");
  return leader;
}
