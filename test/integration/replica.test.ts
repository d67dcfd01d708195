import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import pg from "pg";
import { socialgraph } from "@fanfare/contracts";
import { metricsRegistry } from "@fanfare/runtime/observability";
import { createGrpcClient, type PromiseClient } from "@fanfare/runtime/grpc";
import { databaseUrl, replicaUrl, TEST_REPLICA } from "../support/env.js";
import { api, eventually, expectProblem, newUser } from "../support/http.js";
import { itAsCaller } from "../support/grpc.js";
import { mesh, startGatewayFor, type Mesh } from "../support/mesh.js";

const run = promisify(execFile);
const DATABASE = "fanfare_test_social_graph";
const POSTS_DATABASE = "fanfare_test_posts";

async function queriesBy(database: string, role: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric("db_queries_total");
  const values = metric ? (await metric.get()).values : [];
  return values.filter((v) => v.labels.database === database && v.labels.role === role).reduce((sum, v) => sum + v.value, 0);
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Waits until the replica has replayed everything the leader has written so far. */
async function replicaCaughtUp(): Promise<void> {
  const [{ lsn }] = (await sql<{ lsn: string }>(databaseUrl("postgres"), "SELECT pg_current_wal_lsn()::text AS lsn")) as [{ lsn: string }];
  await eventually(
    async () => {
      const [{ caught }] = (await sql<{ caught: boolean }>(
        replicaUrl("postgres")!,
        "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught",
        [lsn],
      )) as [{ caught: boolean }];
      expect(caught).to.equal(true);
    },
    20_000,
    100,
  );
}

/** Runs `check` while the replica replays 3 s behind the leader, then lets it catch up. */
async function withReplicaBehind(check: () => Promise<void>): Promise<void> {
  const replicaAdmin = replicaUrl("postgres")!;
  await sql(replicaAdmin, "ALTER SYSTEM SET recovery_min_apply_delay = '3s'");
  await sql(replicaAdmin, "SELECT pg_reload_conf()");
  try {
    await eventually(async () =>
      expect((await sql<{ d: string }>(replicaAdmin, "SELECT current_setting('recovery_min_apply_delay') AS d"))[0]?.d).to.equal("3s"),
    );
    await check();
  } finally {
    await sql(replicaAdmin, "ALTER SYSTEM RESET recovery_min_apply_delay");
    await sql(replicaAdmin, "SELECT pg_reload_conf()");
    await replicaCaughtUp();
  }
}

/** The local clusters made by scripts/replica.mjs, which these tests stop and start. */
const clusterVersion = existsSync("/etc/postgresql") ? readdirSync("/etc/postgresql").sort().at(-1) : undefined;
const canControlClusters =
  process.getuid?.() === 0 && clusterVersion !== undefined && existsSync(`/etc/postgresql/${clusterVersion}/replica`);
const cluster = (name: "main" | "replica", action: "start" | "stop") =>
  run("pg_ctlcluster", ["--skip-systemctl-redirect", clusterVersion!, name, action, ...(action === "stop" ? ["-m", "fast"] : [])]);

describe("PostgreSQL leader + streaming replica", function () {
  this.timeout(90_000);
  let m: Mesh;
  let graph: PromiseClient<socialgraph.SocialGraphServiceClient>;

  before(async function () {
    if (!TEST_REPLICA) this.skip(); // npm test always sets one up where the machine allows it
    m = await mesh();
    graph = createGrpcClient(socialgraph.SocialGraphServiceClient, m.addresses.socialGraph);
  });
  after(() => graph?.close());

  itAsCaller("streams from the leader and serves reads from the replica, writes from the leader", async () => {
    const [streaming] = await sql<{ state: string }>(databaseUrl("postgres"), "SELECT state FROM pg_stat_replication LIMIT 1");
    expect(streaming?.state).to.equal("streaming");
    const { user } = await graph.registerUser({
      firstName: "Реплика",
      secondName: "Тест",
      birthdate: "",
      biography: "",
      city: "",
      password: "pw",
    });
    await eventually(async () =>
      expect(await sql(replicaUrl(DATABASE)!, "SELECT 1 FROM users WHERE id = $1", [user!.id])).to.have.length(1),
    );
    const [replicaBefore, primaryBefore] = [await queriesBy(DATABASE, "replica"), await queriesBy(DATABASE, "primary")];
    for (let i = 0; i < 50; i++) expect((await graph.getUser({ userId: user!.id })).user!.id).to.equal(user!.id);
    expect((await queriesBy(DATABASE, "replica")) - replicaBefore).to.be.at.least(50);
    expect((await queriesBy(DATABASE, "primary")) - primaryBefore).to.be.below(5);
  });

  itAsCaller("reads a client's own writes at once while the replica replays 3 s behind", async () => {
    await withReplicaBehind(async () => {
      const url = m.baseUrl;
      const author = await newUser(url, { city: "Самара" });
      expect((await api(url, `/user/get/${author.id}`)).body.city).to.equal("Самара");
      const postId = (await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "v1" } })).body as string;
      expect(await sql(replicaUrl(POSTS_DATABASE)!, "SELECT 1 FROM posts WHERE id = $1", [postId]), "the replica is behind").to.have.length(
        0,
      );
      expect((await api(url, `/post/get/${postId}`)).body.text).to.equal("v1");
      await api(url, "/post/update", { method: "PUT", token: author.token, body: { id: postId, text: "v2" } });
      expect((await api(url, `/post/get/${postId}`, { token: author.token })).body.text).to.equal("v2");
      const reader = await newUser(url);
      await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
      expect((await api(url, "/post/feed", { token: reader.token })).body.map((p: { id: string }) => p.id)).to.deep.equal([postId]);
    });
  });

  itAsCaller("reads a user's own writes through any of two gateways (round robin) while the replica replays 3 s behind", async () => {
    const second = await startGatewayFor(m.addresses);
    try {
      await withReplicaBehind(async () => {
        // Each gateway has heard the other say hello (they do at start, and every 5 s).
        await new Promise((resolve) => setTimeout(resolve, 200));
        const gateways = [m.baseUrl, `http://127.0.0.1:${second.port}`];
        let turn = 0;
        const next = () => gateways[turn++ % gateways.length]!;
        const author = await newUser(next());
        expect(
          (await api(next(), `/user/get/${author.id}`, { token: author.token })).status,
          "the new user, through the other gateway",
        ).to.equal(200);
        // A post the replica has (so a read there finds it, in an old version), then edits read back at once.
        const postId = (await api(next(), "/post/create", { method: "POST", token: author.token, body: { text: "v0" } })).body as string;
        await eventually(
          async () => expect(await sql(replicaUrl(POSTS_DATABASE)!, "SELECT 1 FROM posts WHERE id = $1", [postId])).to.have.length(1),
          10_000,
          100,
        );
        for (let round = 1; round <= 6; round++) {
          await api(next(), "/post/update", { method: "PUT", token: author.token, body: { id: postId, text: `v${round}` } });
          const [onReplica] = await sql<{ text: string }>(replicaUrl(POSTS_DATABASE)!, "SELECT text FROM posts WHERE id = $1", [postId]);
          expect(onReplica?.text, "the replica still has an older version").to.not.equal(`v${round}`);
          expect((await api(next(), `/post/get/${postId}`, { token: author.token })).body.text, `round ${round}`).to.equal(`v${round}`);
        }
      });
    } finally {
      await second.stop();
    }
  });

  itAsCaller("keeps serving reads from the leader while the replica is down, and returns to it", async function () {
    if (!canControlClusters) this.skip(); // needs root and the Debian clusters that scripts/replica.mjs makes
    const { user } = await graph.registerUser({
      firstName: "Без",
      secondName: "Реплики",
      birthdate: "",
      biography: "",
      city: "",
      password: "pw",
    });
    await cluster("replica", "stop");
    try {
      const primaryBefore = await queriesBy(DATABASE, "primary");
      for (let i = 0; i < 20; i++) expect((await graph.getUser({ userId: user!.id })).user!.id).to.equal(user!.id);
      expect((await queriesBy(DATABASE, "primary")) - primaryBefore).to.be.at.least(20);
    } finally {
      await cluster("replica", "start");
    }
    await eventually(
      async () => {
        const before = await queriesBy(DATABASE, "replica");
        await graph.getUser({ userId: user!.id });
        expect(await queriesBy(DATABASE, "replica")).to.be.greaterThan(before);
      },
      20_000,
      250,
    );
  });

  itAsCaller("answers writes 503 with Retry-After while the leader is down, keeps serving reads, and recovers", async function () {
    if (!canControlClusters) this.skip(); // needs root and the Debian clusters that scripts/replica.mjs makes
    const url = m.baseUrl;
    const author = await newUser(url);
    await eventually(async () =>
      expect(await sql(replicaUrl(DATABASE)!, "SELECT 1 FROM users WHERE id = $1", [author.id])).to.have.length(1),
    );
    await cluster("main", "stop");
    try {
      const write = await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "пока лидер лежит" } });
      expectProblem(write, 503);
      expect(write.headers.get("retry-after")).to.match(/^\d+$/);
      expect((await api(url, `/user/get/${author.id}`)).status).to.equal(200);
    } finally {
      await cluster("main", "start");
    }
    await eventually(
      async () =>
        expect((await api(url, "/post/create", { method: "POST", token: author.token, body: { text: randomUUID() } })).status).to.equal(
          200,
        ),
      30_000,
      250,
    );
  });
});
