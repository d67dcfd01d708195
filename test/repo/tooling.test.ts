import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { promisify } from "node:util";
import { expect } from "chai";
import { feedEnv } from "@fanfare/feed";
import { gatewayEnv } from "@fanfare/gateway";
import { postsEnv } from "@fanfare/posts";
import { socialGraphEnv } from "@fanfare/social-graph";

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

  it("passes npm run lint: ESLint (type-aware), Prettier, and the layer rules of dependency-cruiser", async () => {
    const result = await run("npm", ["run", "--silent", "lint"], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
      () => "clean",
      (error: { stdout: string; stderr: string }) => `${error.stdout}\n${error.stderr}`,
    );
    expect(result).to.equal("clean");
  });

  it("documents in README's configuration table every variable the services read, and no other", () => {
    const readme = readFileSync(`${ROOT}README.md`, "utf8");
    const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("\n## ", readme.indexOf("## Configuration") + 1));
    const documented = new Set(
      section
        .split("\n")
        .filter((line) => line.startsWith("| `"))
        .flatMap((line) => [...line.split("|")[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!)),
    );
    const read = new Set([feedEnv, gatewayEnv, postsEnv, socialGraphEnv].flatMap((shape) => Object.keys(shape)));
    const scripts = readdirSync(`${ROOT}scripts`)
      .filter((name) => name.endsWith(".mjs"))
      .map((name) => readFileSync(`${ROOT}scripts/${name}`, "utf8"))
      .join("\n");
    expect(
      [...read].filter((name) => !documented.has(name)),
      "read by a service, missing from README",
    ).to.deep.equal([]);
    expect(
      [...documented].filter((name) => !read.has(name) && !scripts.includes(`process.env.${name}`)),
      "in README, read by no service or script",
    ).to.deep.equal([]);
  });

  it("names every source file in ARCHITECTURE.md's maps", () => {
    const architecture = readFileSync(`${ROOT}ARCHITECTURE.md`, "utf8");
    const roots = [
      "packages/runtime/src",
      "packages/contracts/src",
      "tools/src",
      "bench/src",
      ...readdirSync(`${ROOT}services`).map((name) => `services/${name}/src`),
    ];
    const unnamed = roots.flatMap((root) =>
      readdirSync(`${ROOT}${root}`, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.parentPath.includes("/gen"))
        .map((entry) => `${entry.parentPath.slice(ROOT.length)}/${entry.name}`)
        .filter((path) => !architecture.includes(path.split("/").at(-1)!)),
    );
    expect(unnamed).to.deep.equal([]);
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
      const failure = await run(process.execPath, [`${ROOT}services/${service}/dist/src/main.js`], {
        env: { PATH: process.env.PATH, ...env },
      }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure, "the process should have failed").to.not.equal(undefined);
      expect(failure!.code).to.equal(2);
      expect(failure!.stderr)
        .to.match(expected)
        .and.not.match(/\n\s+at /);
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
    for (const match of source.matchAll(
      /^(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?["']([^"'.][^"']*)["']|import\(["']([^"'.][^"']*)["']\)/gm,
    )) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith("node:") || builtins.has(specifier)) continue;
      names.add(specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!);
    }
  }
  return names;
}
