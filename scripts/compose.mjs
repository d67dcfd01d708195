// `npm run compose:*`: the same Compose command line on `docker compose` (v2) or Debian's
// `docker-compose` (v1), whichever this machine has.
import { composeCommand } from "./docker.mjs";
import { run } from "./lib.mjs";
import { runScript } from "./prepare.mjs";

runScript(async () => {
  const compose = await composeCommand();
  if (!compose) throw new Error("neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)");
  await run(compose[0], [...compose.slice(1), ...process.argv.slice(2)]);
});
