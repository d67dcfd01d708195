// Generates the TypeScript contracts and the descriptor set from proto/ with the buf binary that
// ships inside the @bufbuild/buf npm package, so it needs no network.
import { mkdirSync } from "node:fs";
import { run, repoRoot } from "./lib.mjs";

const buf = `${repoRoot}/node_modules/.bin/buf`;
mkdirSync(`${repoRoot}/packages/contracts/descriptors`, { recursive: true });
await run(buf, ["generate"]);
await run(buf, ["build", "-o", "packages/contracts/descriptors/fanfare.binpb"]);
