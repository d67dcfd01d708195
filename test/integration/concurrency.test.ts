import { expect } from "chai";
import { feed } from "@fanfare/contracts";
import type { FeedRedis } from "@fanfare/feed/data-access/redis-client.js";
import { flushTestRedis, testRedis } from "../support/redis.js";
import { loadFeedConfig, openFeedAudit, type AuditReport, type FeedAudit } from "@fanfare/feed";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";
import { drainNats, type NatsConnection } from "@fanfare/runtime/events";
import { testEnv } from "../support/env.js";
import { natsConnection } from "../support/grpc.js";
import { startMesh, type Mesh } from "../support/mesh.js";
import { killHard, spawnFeedProcess } from "../support/processes.js";
import { outboxRows, publishedSince, streamPositions, waitForIdle } from "../support/settle.js";
import { registerUsers, runBounded, Workload, workloadClients, type WorkloadClients } from "../support/workload.js";
import { redisKeys } from "@fanfare/feed/data-access/redis-keys.js";

/** "A few hundred users", as the issue that found the lost events had it. */
const USERS = 200;
const CHANGES = 1_200;
/** Changes in flight at once: the load under which 3% of events were lost. */
const IN_FLIGHT = 32;

/**
 * Nothing lost under concurrency: many writers at once, then, once the mesh is idle, every cached
 * timeline equals the truth, JetStream holds exactly one event per committed change, and the
 * outboxes are empty. Run plainly, with rebuilds racing the writes, and with a feed replica killed.
 */
describe("nothing lost under concurrency (truth audit)", function () {
  this.timeout(240_000);
  let m: Mesh;
  let clients: WorkloadClients;
  let feedClient: PromiseClient<feed.FeedServiceClient>;
  let audit: FeedAudit;
  let nats: NatsConnection;
  let redis: FeedRedis;

  before(async function () {
    this.timeout(60_000);
    // No celebrities here: every post takes the direct fan-out path, whose every write the audit can see.
    m = await startMesh({ socialGraph: { CELEBRITY_THRESHOLD: "100000" } });
    clients = workloadClients(m.addresses);
    feedClient = createGrpcClient(feed.FeedServiceClient, m.addresses.feed);
    audit = openFeedAudit(loadFeedConfig({ ...testEnv, SOCIAL_GRAPH_ADDR: m.addresses.socialGraph, POSTS_ADDR: m.addresses.posts }));
    nats = await natsConnection();
    redis = testRedis();
  });
  after(async () => {
    clients.close();
    feedClient.close();
    await audit.close();
    await drainNats(nats);
    redis.disconnect();
    await m.stop();
  });

  const readFeed = (userId: string) => feedClient.getFeed({ userId, offset: 0, limit: 10 });
  const settle = () => waitForIdle(nats, { flush: () => Promise.all([m.posts.flushOutbox(), m.socialGraph.flushOutbox()]) });

  /** Users with cached timelines, then the workload with `chaos` between changes, then the three checks. */
  async function runAndAudit(chaos?: (workload: Workload, done: number) => Promise<void>): Promise<AuditReport> {
    const users = await registerUsers(clients, USERS);
    await runBounded(users.length, IN_FLIGHT, async (i) => void (await readFeed(users[i]!)));
    const since = await streamPositions(nats);
    const workload = new Workload(clients, users);
    await workload.run(CHANGES, IN_FLIGHT, chaos && ((done) => chaos(workload, done)));
    expect(workload.failures, "changes that failed").to.deep.equal([]);
    await settle();

    const published = await publishedSince(nats, since, users);
    expect(published.counts, "events in JetStream vs committed changes").to.deep.equal(workload.committed);
    expect(published.duplicateEventIds, "events JetStream holds twice").to.deep.equal([]);
    expect(await outboxRows(), "outbox rows left").to.equal(0);
    const report = await audit.auditor.auditAll(users);
    expect(report.differing, `timelines differing from the truth: ${JSON.stringify(report, null, 1).slice(0, 3000)}`).to.equal(0);
    return report;
  }

  it("publishes every committed change once and every cached timeline equals the truth", async () => {
    const report = await runAndAudit();
    expect(report.audited, "cached timelines audited").to.be.greaterThan(USERS / 2);
  });

  it("stays right with rebuilds racing the writes (timelines dropped, Redis flushed mid-run)", async () => {
    const dropEvery = 20;
    const report = await runAndAudit(async (workload, done) => {
      if (done === CHANGES / 2) await flushTestRedis(redis);
      else if (done % dropEvery === 0) {
        const victims = Array.from({ length: 4 }, () => workload.users[Math.floor(Math.random() * workload.users.length)]!);
        await Promise.all(victims.map((id) => redis.del(redisKeys.timeline(id), redisKeys.friends(id))));
      }
      // Reads rebuild what was dropped while the writes go on.
      if (done % 2 === 0) await readFeed(workload.users[Math.floor(Math.random() * workload.users.length)]!);
    });
    expect(report.audited, "timelines rebuilt during the run and audited").to.be.greaterThan(20);
  });

  it("stays right when a feed replica is killed (SIGKILL) mid-run", async () => {
    const replica = await spawnFeedProcess(m.addresses);
    try {
      const report = await runAndAudit(async (_workload, done) => {
        if (done === CHANGES / 3) await killHard(replica);
      });
      expect(report.audited).to.be.greaterThan(USERS / 2);
    } finally {
      await killHard(replica);
    }
  });
});
