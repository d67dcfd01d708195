// `npm run test:cluster`: the feed, celebrity and end-to-end suites, and the cluster fault tests
// (test/cluster), with the whole mesh on a local Redis Cluster (3 masters + 3 replicas) and a 3-node
// NATS JetStream cluster that this script starts from the machine's own binaries and stops again.
// Closes with one line "N passed, N failed".
import { startClusters, stopClusters } from "./clusters.mjs";
import { runMochaWithSummary } from "./mocha.mjs";
import { prepare, runScript } from "./prepare.mjs";
import { say } from "./lib.mjs";

const SUITES = [
  "dist/test/integration/feed.test.js",
  "dist/test/integration/celebrity.test.js",
  "dist/test/e2e/gateway.test.js",
  "dist/test/e2e/contract-clients.test.js",
  "dist/test/e2e/init-system.test.js",
  "dist/test/cluster/*.test.js",
];

runScript(async () => {
  await prepare();
  say("starting the local clusters");
  const clusterEnv = await startClusters();
  try {
    const args = [
      "--no-config",
      "--require",
      "dist/test/support/hooks.js",
      "--timeout",
      "20000",
      "--exit",
      ...SUITES,
      ...process.argv.slice(2),
    ];
    process.exitCode = await runMochaWithSummary(args, { ...process.env, ...clusterEnv });
  } finally {
    say("stopping the local clusters");
    await stopClusters();
  }
});
