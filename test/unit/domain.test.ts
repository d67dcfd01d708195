import { status } from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { expect } from "chai";
import { z } from "zod";
import {
  characterLength,
  ConfigError,
  ExpiringMap,
  httpErrorFromGrpc,
  loadConfig,
  pageSize,
  requireText,
  ServiceError,
} from "@fanfare/runtime";

// Domain modules are imported from the services' build output: pure logic, no I/O.
import { prefixPattern, validateBirthdate, validateNewUser } from "@fanfare/social-graph/domain/users.js";
import { hashPassword, PasswordHasher, verifyPassword } from "@fanfare/social-graph/domain/password.js";

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof ServiceError && error.code === status.INVALID_ARGUMENT;
  }
  return false;
};

describe("domain rules (pure logic)", () => {
  it("counts characters, not UTF-16 units or bytes", () => {
    expect(characterLength("ёж")).to.equal(2);
    expect(characterLength("😀👍")).to.equal(2);
    expect(characterLength("")).to.equal(0);
  });

  it("checks text fields: length, blank and NUL", () => {
    expect(requireText("😀".repeat(10), "t", { min: 1, max: 10 })).to.have.length(20);
    expect(invalid(() => requireText("x".repeat(11), "t", { min: 1, max: 10 }))).to.equal(true);
    expect(invalid(() => requireText("  ", "t", { min: 1, max: 10 }))).to.equal(true);
    expect(invalid(() => requireText("a\u0000", "t", { min: 0, max: 10 }))).to.equal(true);
    expect(requireText("", "t", { min: 0, max: 10 })).to.equal("");
  });

  it("accepts only real past birthdates in YYYY-MM-DD", () => {
    const today = new Date("2026-11-26T00:00:00Z");
    expect(validateBirthdate("2000-02-29", today)).to.equal("2000-02-29");
    for (const bad of ["2001-02-29", "2000-13-01", "2000-1-1", "01.01.2000", "1899-12-31", "2026-11-27", "2000-01-01T00:00:00Z"]) {
      expect(
        invalid(() => validateBirthdate(bad, today)),
        bad,
      ).to.equal(true);
    }
  });

  it("trims names and keeps the rest of a profile as given", () => {
    const user = validateNewUser({
      firstName: " Анна ",
      secondName: "Ли",
      birthdate: null,
      biography: " bio ",
      city: " Омск ",
      password: " p ",
    });
    expect(user).to.deep.equal({ firstName: "Анна", secondName: "Ли", birthdate: null, biography: " bio ", city: "Омск", password: " p " });
  });

  it("escapes LIKE wildcards in search prefixes", () => {
    expect(prefixPattern("Ив", "f")).to.equal("Ив%");
    expect(prefixPattern("100%_\\", "f")).to.equal("100\\%\\_\\\\%");
    expect(prefixPattern("", "f")).to.equal("%");
    expect(invalid(() => prefixPattern("x".repeat(101), "f"))).to.equal(true);
  });

  it("clamps page sizes", () => {
    expect(pageSize(0, 50, 100)).to.equal(50);
    expect(pageSize(500, 50, 100)).to.equal(100);
    expect(pageSize(7, 50, 100)).to.equal(7);
    expect(invalid(() => pageSize(-1, 50, 100))).to.equal(true);
  });

  it("hashes passwords with a random salt and verifies them in constant time", async () => {
    const [first, second] = [await hashPassword("пароль"), await hashPassword("пароль")];
    expect(first)
      .to.match(/^scrypt\$\d+\$\d+\$\d+\$/)
      .and.not.equal(second);
    expect(await verifyPassword("пароль", first)).to.equal(true);
    expect(await verifyPassword("Пароль", first)).to.equal(false);
    expect(await verifyPassword("пароль", "md5$whatever")).to.equal(false);
  });
});

describe("gRPC status -> HTTP mapping", () => {
  const grpcError = (code: status, details: string) => Object.assign(new Error(details), { code, details, metadata: new Metadata() });

  it("shows client-facing messages and hides internal ones", () => {
    expect(httpErrorFromGrpc(grpcError(status.NOT_FOUND, "user not found"))).to.deep.equal({ status: 404, message: "user not found" });
    expect(httpErrorFromGrpc(grpcError(status.INVALID_ARGUMENT, "bad"))).to.deep.equal({ status: 400, message: "bad" });
    expect(httpErrorFromGrpc(grpcError(status.PERMISSION_DENIED, "no"))).to.deep.equal({ status: 403, message: "no" });
    expect(httpErrorFromGrpc(grpcError(status.INTERNAL, "stack trace here")).message).to.equal("internal error");
  });

  it("turns outages into 503 with Retry-After", () => {
    for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED]) {
      const mapped = httpErrorFromGrpc(grpcError(code, "connect ECONNREFUSED"));
      expect(mapped.status).to.equal(503);
      expect(mapped.retryAfter).to.be.a("number");
      expect(mapped.message).not.to.include("ECONNREFUSED");
    }
  });
});

describe("configuration loading", () => {
  const shape = { PORT: z.coerce.number().int().min(1), NAME: z.string().default("x") };

  it("applies defaults, treating empty values as unset", () => {
    expect(loadConfig(shape, { PORT: "80", NAME: "" })).to.deep.equal({ PORT: 80, NAME: "x" });
  });

  it("reports every problem in one message", () => {
    expect(() => loadConfig(shape, { PORT: "zero" })).to.throw(ConfigError, /PORT/);
  });
});

describe("ExpiringMap", () => {
  it("forgets expired entries and the least recently written past its bound", () => {
    const map = new ExpiringMap<number>(2);
    map.set("a", 1, Date.now() + 60_000);
    map.set("gone", 0, Date.now() - 1);
    expect(map.get("gone")).to.equal(undefined);
    map.set("b", 2, Date.now() + 60_000);
    map.set("a", 3, Date.now() + 60_000); // rewriting makes "a" the newest
    map.set("c", 4, Date.now() + 60_000);
    expect([map.get("a"), map.get("b"), map.get("c")]).to.deep.equal([3, undefined, 4]);
  });
});

describe("password hashing under load", () => {
  it("runs at most `concurrency` hashes at once, queues a bounded number, refuses the rest with RESOURCE_EXHAUSTED", async function () {
    this.timeout(10_000);
    const hasher = new PasswordHasher(1, 2);
    const stored = await hashPassword("pw");
    const attempts = Array.from({ length: 4 }, () =>
      hasher.verify("pw", stored).then(
        (valid) => ({ valid }),
        (error: ServiceError) => ({ code: error.code, retryAfter: error.retryAfterSeconds }),
      ),
    );
    expect(await Promise.all(attempts)).to.deep.equal([
      { valid: true },
      { valid: true },
      { valid: true },
      { code: status.RESOURCE_EXHAUSTED, retryAfter: 1 },
    ]);
    expect(await hasher.verify("pw", stored), "the slot is free again").to.equal(true);
  });
});
