import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { promisify } from "node:util";
import { expect } from "chai";

const run = promisify(execFile);
const ROOT = new URL("../../../", import.meta.url).pathname;

describe("tooling", function () {
  this.timeout(60_000);

  it("declares exactly the packages each workspace imports at run time", () => {
    const problems: string[] = [];
    for (const workspace of (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { workspaces: string[] }).workspaces) {
      const manifest = JSON.parse(readFileSync(`${ROOT}${workspace}/package.json`, "utf8")) as { dependencies?: Record<string, string> };
      const declared = new Set(Object.keys(manifest.dependencies ?? {}));
      const imported = runtimeImports(`${ROOT}${workspace}/src`);
      for (const name of imported) if (!declared.has(name)) problems.push(`${workspace} imports ${name} but does not declare it`);
      for (const name of declared) if (!imported.has(name)) problems.push(`${workspace} declares ${name} but never imports it`);
    }
    expect(problems).to.deep.equal([]);
  });

  it("proto contracts pass buf lint", async () => {
    const { stdout, stderr } = await run(`${ROOT}node_modules/.bin/buf`, ["lint"], { cwd: ROOT });
    expect(stdout + stderr).to.equal("");
  });

  for (const [service, env, expected] of [
    ["gateway", { JWT_SECRET: "short" }, /JWT_SECRET: must be at least 32 characters/],
    ["social-graph", { PG_PRIMARY_URL: "mysql://nope" }, /PG_PRIMARY_URL: must be a postgres:\/\/ URL/],
    ["feed", { GRPC_PORT: "seventy" }, /GRPC_PORT/],
  ] as const) {
    it(`${service} refuses bad configuration with one clear message and a non-zero exit`, async () => {
      const failure = await run(process.execPath, [`${ROOT}services/${service}/dist/src/main.js`], { env: { PATH: process.env.PATH, ...env } }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure, "the process should have failed").to.not.equal(undefined);
      expect(failure!.code).to.equal(2);
      expect(failure!.stderr).to.match(expected).and.not.match(/\n\s+at /);
    });
  }
});

/** Packages a source tree imports at run time: bare specifiers of value imports (type-only ones leave no trace in the build). */
function runtimeImports(dir: string): Set<string> {
  const names = new Set<string>();
  const builtins = new Set(builtinModules);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(ts|mts)$/.test(entry.name) || entry.name.endsWith(".d.ts")) continue;
    const source = readFileSync(`${entry.parentPath}/${entry.name}`, "utf8");
    for (const match of source.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?["']([^"'.][^"']*)["']|import\(["']([^"'.][^"']*)["']\)/gm)) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith("node:") || builtins.has(specifier)) continue;
      names.add(specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!);
    }
  }
  return names;
}
