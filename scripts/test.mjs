// `npm test`: prepares everything `npm start` needs (dependencies, contracts, build, PostgreSQL,
// Redis, NATS), then runs every test (unit, repository checks and lint, per-service integration,
// end to end) with mocha and closes with one line "N passed, N failed".
// `npm run test:unit` (`--unit`): installs and builds only, then runs the domain rules against
// in-memory fakes of their ports (test/unit), in seconds, with no service running.
import { runMochaWithSummary } from "./mocha.mjs";
import { prepare, runScript } from "./prepare.mjs";

const UNIT_ONLY = ["--no-config", "--exit", "dist/test/unit/**/*.test.js"];

runScript(async () => {
  const unit = process.argv.includes("--unit");
  const extraArgs = process.argv.slice(2).filter((arg) => arg !== "--unit");
  const replicaUrl = await prepare({ servicesNeeded: !unit });
  if (replicaUrl) process.env.TEST_PG_REPLICA_URL = replicaUrl;
  process.exitCode = await runMochaWithSummary(unit ? [...UNIT_ONLY, ...extraArgs] : extraArgs);
});
