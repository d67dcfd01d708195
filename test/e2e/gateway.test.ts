import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { SignJWT } from "jose";
import { WebSocket } from "ws";
import { inProcess, startGatewayFor, target, type Target } from "../support/mesh.js";
import { api, eventually, expectProblem, newUser } from "../support/http.js";
import pg from "pg";
import { TEST_DATABASES, testEnv } from "../support/env.js";

describe("gateway: the OTUS REST API end to end", function () {
  this.timeout(20_000);
  let system: Target;
  let url: string;

  before(async () => {
    system = await target();
    url = system.baseUrl;
  });

  describe("users", () => {
    it("registers, logs in and reads a profile with the celebrity flag", async () => {
      const user = await newUser(url, { city: "Казань", biography: "Люблю тесты" });
      const profile = await api(url, `/user/get/${user.id}`);
      expect(profile.status).to.equal(200);
      expect(profile.body).to.deep.equal({
        id: user.id,
        first_name: user.firstName,
        second_name: user.secondName,
        birthdate: "1990-01-01",
        biography: "Люблю тесты",
        city: "Казань",
        celebrity: false,
      });
    });

    it("refuses a wrong password (400) and an unknown user (404) at login", async () => {
      const user = await newUser(url);
      expectProblem(await api(url, "/login", { method: "POST", body: { id: user.id, password: "wrong" } }), 400);
      expectProblem(await api(url, "/login", { method: "POST", body: { id: randomUUID(), password: "x" } }), 404);
      expectProblem(await api(url, "/login", { method: "POST", body: { id: "not-a-uuid", password: "x" } }), 400);
    });

    it("throttles an account after 5 wrong passwords: 429 with Retry-After, even for the right one", async () => {
      const user = await newUser(url);
      for (let i = 0; i < 5; i++)
        expectProblem(await api(url, "/login", { method: "POST", body: { id: user.id, password: `wrong-${i}` } }), 400);
      for (const password of ["wrong-5", user.password]) {
        const refused = await api(url, "/login", { method: "POST", body: { id: user.id, password } });
        expectProblem(refused, 429);
        expect(Number(refused.headers.get("retry-after"))).to.be.within(1, 900);
      }
    });

    it("answers 404 for an unknown user and 400 for a malformed id", async () => {
      expectProblem(await api(url, `/user/get/${randomUUID()}`), 404);
      expectProblem(await api(url, "/user/get/12345"), 400);
    });

    it("accepts optional profile fields as absent or null", async () => {
      const registered = await api(url, "/user/register", {
        method: "POST",
        body: { first_name: "Без", second_name: "Даты", password: "pw", birthdate: null, biography: null, city: null },
      });
      expect(registered.status, JSON.stringify(registered.body)).to.equal(200);
      const profile = await api(url, `/user/get/${registered.body.user_id}`);
      expect(profile.body).to.include({ first_name: "Без", biography: "", city: "" }).and.not.have.property("birthdate");
    });

    it("validates registration: required names, real dates, no NUL characters", async () => {
      const base = { first_name: "Имя", second_name: "Фамилия", password: "pw" };
      for (const body of [
        { ...base, first_name: undefined },
        { ...base, first_name: "" },
        { ...base, first_name: 42 },
        { ...base, birthdate: "2001-02-30" },
        { ...base, birthdate: "01.02.2001" },
        { ...base, birthdate: "2999-01-01" },
        { ...base, biography: "a\u0000b" },
        { ...base, password: undefined },
        { ...base, first_name: "x".repeat(101) },
      ]) {
        expectProblem(await api(url, "/user/register", { method: "POST", body }), 400);
      }
    });

    it("searches by first and last name prefixes, case-insensitively, treating % and _ literally", async () => {
      const tag = randomUUID().slice(0, 6);
      const alice = await newUser(url, { first_name: `Zq${tag}Алиса`, second_name: `Wx${tag}Петрова` });
      await newUser(url, { first_name: `Zq${tag}Борис`, second_name: `Wx${tag}Петров` });
      const found = await api(
        url,
        `/user/search?first_name=${encodeURIComponent(`zq${tag}ал`)}&last_name=${encodeURIComponent(`WX${tag}`)}`,
      );
      expect(found.status).to.equal(200);
      expect(found.body.map((u: { id: string }) => u.id)).to.deep.equal([alice.id]);
      const wildcard = await api(url, `/user/search?first_name=${encodeURIComponent(`Zq${tag}%`)}&last_name=`);
      expect(wildcard.body).to.deep.equal([]);
      const underscore = await api(url, `/user/search?first_name=${encodeURIComponent(`Zq${tag}_`)}&last_name=`);
      expect(underscore.body).to.deep.equal([]);
      expectProblem(await api(url, "/user/search?first_name=a"), 400);
    });
  });

  describe("friends", () => {
    it("follows with /friend/set and /friend/add, unfollows with /friend/delete, idempotently", async () => {
      const [a, b, c] = await Promise.all([newUser(url), newUser(url), newUser(url)]);
      expect((await api(url, `/friend/set/${b.id}`, { method: "PUT", token: a.token })).status).to.equal(200);
      expect((await api(url, `/friend/set/${b.id}`, { method: "PUT", token: a.token })).status).to.equal(200);
      expect((await api(url, `/friend/add/${c.id}`, { method: "PUT", token: a.token })).status).to.equal(200);
      const post = await api(url, "/post/create", { method: "POST", token: b.token, body: { text: "от b" } });
      expect((await api(url, "/post/feed", { token: a.token })).body.map((p: { id: string }) => p.id)).to.deep.equal([post.body]);
      expect((await api(url, `/friend/delete/${b.id}`, { method: "PUT", token: a.token })).status).to.equal(200);
      expect((await api(url, `/friend/delete/${b.id}`, { method: "PUT", token: a.token })).status).to.equal(200);
      await eventually(async () => expect((await api(url, "/post/feed", { token: a.token })).body).to.deep.equal([]));
    });

    it("refuses befriending oneself (400), unknown users (404) and anonymous callers (401)", async () => {
      const a = await newUser(url);
      expectProblem(await api(url, `/friend/set/${a.id}`, { method: "PUT", token: a.token }), 400);
      expectProblem(await api(url, `/friend/set/${randomUUID()}`, { method: "PUT", token: a.token }), 404);
      expectProblem(await api(url, `/friend/set/nope`, { method: "PUT", token: a.token }), 400);
      expectProblem(await api(url, `/friend/set/${a.id}`, { method: "PUT" }), 401);
    });
  });

  describe("posts", () => {
    // The author reads with its token: the gateway then reads at least its own writes (a replica may lag).
    it("creates (answering the id as a JSON string), reads, updates and deletes a post", async () => {
      const author = await newUser(url);
      const created = await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "Первый пост" } });
      expect(created.status).to.equal(200);
      expect(created.body)
        .to.be.a("string")
        .and.match(/^[0-9a-f-]{36}$/);
      const id = created.body as string;
      expect((await api(url, `/post/get/${id}`, { token: author.token })).body).to.deep.equal({
        id,
        text: "Первый пост",
        author_user_id: author.id,
      });
      expect((await api(url, "/post/update", { method: "PUT", token: author.token, body: { id, text: "Исправлено" } })).status).to.equal(
        200,
      );
      expect((await api(url, `/post/get/${id}`, { token: author.token })).body.text).to.equal("Исправлено");
      expect((await api(url, `/post/delete/${id}`, { method: "PUT", token: author.token })).status).to.equal(200);
      expectProblem(await api(url, `/post/get/${id}`, { token: author.token }), 404);
      expectProblem(await api(url, `/post/delete/${id}`, { method: "PUT", token: author.token }), 404);
    });

    it("lets only the author change a post (403)", async () => {
      const [author, other] = await Promise.all([newUser(url), newUser(url)]);
      const id = (await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "моё" } })).body as string;
      expectProblem(await api(url, "/post/update", { method: "PUT", token: other.token, body: { id, text: "чужое" } }), 403);
      expectProblem(await api(url, `/post/delete/${id}`, { method: "PUT", token: other.token }), 403);
      expect((await api(url, `/post/get/${id}`)).body.text).to.equal("моё");
    });

    it("counts text length in characters: 1000 emoji pass, 1001 characters and empty text do not", async () => {
      const author = await newUser(url);
      const ok = await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "😀".repeat(1000) } });
      expect(ok.status).to.equal(200);
      expect((await api(url, `/post/get/${ok.body}`)).body.text).to.equal("😀".repeat(1000));
      expectProblem(await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "я".repeat(1001) } }), 400);
      expectProblem(await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "" } }), 400);
      expectProblem(await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "   " } }), 400);
      expectProblem(await api(url, "/post/create", { method: "POST", token: author.token, body: {} }), 400);
    });
  });

  describe("retries with Idempotency-Key", () => {
    const postsBy = async (authorId: string) => {
      const db = new pg.Client({ connectionString: TEST_DATABASES.posts });
      await db.connect();
      try {
        return Number((await db.query("SELECT count(*) AS n FROM posts WHERE author_id = $1", [authorId])).rows[0].n);
      } finally {
        await db.end();
      }
    };

    it("answers a repeated post creation with the first post, concurrent repeats too, and creates it once", async () => {
      const author = await newUser(url);
      const key = randomUUID();
      const create = () =>
        api(url, "/post/create", { method: "POST", token: author.token, body: { text: "один раз" }, headers: { "idempotency-key": key } });
      const answers = await Promise.all([create(), create(), create(), create()]);
      const again = await create();
      for (const answer of [...answers, again]) expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
      expect(new Set([...answers, again].map((answer) => answer.body)).size).to.equal(1);
      if (system.mesh) expect(await postsBy(author.id), "posts in the database").to.equal(1);
      // Another user's same key is another request; the same key with another text is refused.
      const other = await newUser(url);
      const theirs = await api(url, "/post/create", {
        method: "POST",
        token: other.token,
        body: { text: "один раз" },
        headers: { "idempotency-key": key },
      });
      expect(theirs.status).to.equal(200);
      expect(theirs.body).to.not.equal(again.body);
      expectProblem(
        await api(url, "/post/create", {
          method: "POST",
          token: author.token,
          body: { text: "другой" },
          headers: { "idempotency-key": key },
        }),
        400,
      );
    });

    it("answers a repeated delete, registration and follow as the first time", async () => {
      const author = await newUser(url);
      const { body: postId } = await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "удалю" } });
      const headers = { "idempotency-key": randomUUID() };
      expect((await api(url, `/post/delete/${postId}`, { method: "PUT", token: author.token, headers })).status).to.equal(200);
      expect(
        (await api(url, `/post/delete/${postId}`, { method: "PUT", token: author.token, headers })).status,
        "the repeat, not a 404",
      ).to.equal(200);
      expectProblem(await api(url, `/post/delete/${postId}`, { method: "PUT", token: author.token }), 404);

      const profile = { first_name: "Повтор", second_name: randomUUID().slice(0, 8), password: "pw" };
      const registerHeaders = { "idempotency-key": randomUUID() };
      const first = await api(url, "/user/register", { method: "POST", body: profile, headers: registerHeaders });
      const repeat = await api(url, "/user/register", { method: "POST", body: profile, headers: registerHeaders });
      expect(repeat.body).to.deep.equal(first.body);

      const followHeaders = { "idempotency-key": randomUUID() };
      for (let i = 0; i < 2; i++)
        expect(
          (await api(url, `/friend/set/${first.body.user_id}`, { method: "PUT", token: author.token, headers: followHeaders })).status,
        ).to.equal(200);
    });

    it("refuses a malformed key with 400 and documents the header in /openapi.json", async () => {
      const author = await newUser(url);
      for (const key of ["", "x".repeat(256), "has space", "tab\tin"]) {
        expectProblem(
          await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "t" }, headers: { "idempotency-key": key } }),
          400,
        );
      }
      const spec = (await api(url, "/openapi.json")).body;
      expect(spec.components.parameters.IdempotencyKey.name).to.equal("Idempotency-Key");
      expect(spec.paths["/post/create"].post.parameters).to.deep.include({ $ref: "#/components/parameters/IdempotencyKey" });
      expect(spec.paths["/login"].post.responses).to.have.property("429");
    });
  });

  describe("feed", () => {
    it("shows friends' posts newest first with offset and limit, [] when empty", async () => {
      const [reader, f1, f2] = await Promise.all([newUser(url), newUser(url), newUser(url)]);
      expect((await api(url, "/post/feed", { token: reader.token })).body).to.deep.equal([]);
      await api(url, `/friend/set/${f1.id}`, { method: "PUT", token: reader.token });
      await api(url, `/friend/set/${f2.id}`, { method: "PUT", token: reader.token });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const author = i % 2 === 0 ? f1 : f2;
        ids.push((await api(url, "/post/create", { method: "POST", token: author.token, body: { text: `пост ${i}` } })).body);
      }
      const newestFirst = [...ids].reverse();
      await eventually(async () => {
        const all = await api(url, "/post/feed?offset=0&limit=10", { token: reader.token });
        expect(all.body.map((p: { id: string }) => p.id)).to.deep.equal(newestFirst);
      });
      const page = await api(url, "/post/feed?offset=1&limit=2", { token: reader.token });
      expect(page.body.map((p: { id: string }) => p.id)).to.deep.equal(newestFirst.slice(1, 3));
      expect(page.body[0]).to.have.all.keys("id", "text", "author_user_id");
    });

    it("refuses bad paging with 400", async () => {
      const reader = await newUser(url);
      for (const query of [
        "limit=0",
        "limit=-1",
        "limit=1.5",
        "limit=abc",
        "offset=-1",
        "offset=x",
        "limit=5001",
        "limit=",
        "limit=1&limit=2",
      ]) {
        expectProblem(await api(url, `/post/feed?${query}`, { token: reader.token }), 400);
      }
    });
  });

  describe("live feed WebSocket /post/feed/posted", () => {
    const wsUrl = (path: string) => url.replace(/^http/, "ws") + path;

    it("pushes a friend's new post in the AsyncAPI shape", async () => {
      const [reader, author] = await Promise.all([newUser(url), newUser(url)]);
      await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
      await api(url, "/post/feed", { token: reader.token }); // an active reader has a cached timeline
      const socket = new WebSocket(wsUrl("/post/feed/posted"), { headers: { authorization: `Bearer ${reader.token}` } });
      const received = new Promise<unknown>((resolve, reject) => {
        socket.once("message", (data) => resolve(JSON.parse((data as Buffer).toString("utf8"))));
        socket.once("error", reject);
      });
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      try {
        const postId = (await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "в реальном времени" } })).body;
        expect(await received).to.deep.equal({ postId, postText: "в реальном времени", author_user_id: author.id });
      } finally {
        socket.close();
      }
    });

    it("accepts the token as ?token= and under the API prefixes", async () => {
      const reader = await newUser(url);
      for (const path of [`/post/feed/posted?token=${reader.token}`, `/api/v2/post/feed/posted/?token=${reader.token}`]) {
        const socket = new WebSocket(wsUrl(path));
        await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
        socket.close();
      }
    });

    it("refuses the upgrade with 401 without a valid token", async () => {
      for (const options of [{}, { headers: { authorization: "Bearer forged.token.here" } }]) {
        const status = await new Promise<number>((resolve, reject) => {
          const socket = new WebSocket(wsUrl("/post/feed/posted"), options);
          socket.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
          socket.once("open", () => reject(new Error("upgrade should have been refused")));
          socket.once("error", () => undefined);
        });
        expect(status).to.equal(401);
      }
    });
  });

  describe("authentication", () => {
    it("answers 401 for missing, malformed, forged, tampered and expired tokens", async () => {
      const user = await newUser(url);
      const key = new TextEncoder().encode(testEnv.JWT_SECRET);
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(user.id)
        .setIssuer("fanfare")
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode("another-secret-another-secret-another"));
      const expired = await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(user.id)
        .setIssuer("fanfare")
        .setIssuedAt(1_600_000_000)
        .setExpirationTime(1_600_000_100)
        .sign(key);
      const [header, payload, signature] = user.token.split(".");
      const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: randomUUID(), iss: "fanfare", exp: 9_999_999_999 })).toString("base64url")}.${signature}`;
      for (const headers of <Record<string, string>[]>[
        {},
        { authorization: "Bearer" },
        { authorization: `Basic ${user.token}` },
        { authorization: "Bearer not.a.jwt" },
        { authorization: `Bearer ${forged}` },
        { authorization: `Bearer ${expired}` },
        { authorization: `Bearer ${tampered}` },
        { authorization: `Bearer ${header}.${payload}.` },
      ]) {
        const response = await api(url, "/post/feed", { headers });
        expectProblem(response, 401);
        expect(response.headers.get("www-authenticate")).to.match(/^Bearer/);
      }
      expect((await api(url, "/post/feed", { token: user.token })).status).to.equal(200);
    });
  });

  describe("route forms", () => {
    it("serves every route under /, /api/v1 and /api/v2, with or without a trailing slash", async () => {
      const user = await newUser(url);
      for (const prefix of ["", "/api/v1", "/api/v2"]) {
        for (const slash of ["", "/"]) {
          expect((await api(url, `${prefix}/user/get/${user.id}${slash}`)).status).to.equal(200);
          const created = await api(url, `${prefix}/post/create${slash}`, {
            method: "POST",
            token: user.token,
            body: { text: `via ${prefix}${slash}` },
          });
          expect(created.status).to.equal(200);
          expect((await api(url, `${prefix}/post/feed${slash}?limit=1`, { token: user.token })).status).to.equal(200);
        }
      }
    });

    it("answers the feed alike before Express (its usual paths) and through Express (other spellings)", async () => {
      const [reader, author] = [await newUser(url), await newUser(url)];
      await api(url, `/friend/set/${author.id}`, { method: "PUT", token: reader.token });
      await api(url, "/post/create", { method: "POST", token: author.token, body: { text: "same either way" } });
      await eventually(async () => expect((await api(url, "/post/feed", { token: reader.token })).body).to.have.length(1));
      for (const query of ["?limit=1", "?limit=1e1&offset=0", "?limit=0", "?offset=abc", "?limit=1&limit=2"]) {
        const fast = await api(url, `/api/v2/post/feed${query}`, { token: reader.token, headers: { "x-request-id": "fast-1" } });
        const viaExpress = await api(url, `/api/v2/post/feed/${query}`, { token: reader.token, headers: { "x-request-id": "slow-1" } });
        expect(fast.status, query).to.equal(viaExpress.status);
        expect(fast.headers.get("content-type"), query).to.equal(viaExpress.headers.get("content-type"));
        expect(fast.headers.get("x-request-id")).to.equal("fast-1");
        if (fast.status === 200) expect(fast.body, query).to.deep.equal(viaExpress.body);
        else {
          expectProblem(fast, fast.status);
          expect({ ...fast.body, request_id: "" }, query).to.deep.equal({ ...viaExpress.body, request_id: "" });
          expect(fast.body.request_id).to.equal("fast-1");
        }
      }
      const anonymous = await api(url, "/post/feed", { headers: { "x-request-id": "anon-1" } });
      expectProblem(anonymous, 401);
      expect(anonymous.body.request_id).to.equal("anon-1");
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).to.match(/http_requests_total\{route="\/api\/v2\/post\/feed",status="200"\} [1-9]/);
    });

    it("answers JSON errors with the caller's request id, and 404 for unknown routes", async () => {
      const response = await api(url, "/no/such/route", { headers: { "x-request-id": "trace-me-123" } });
      expectProblem(response, 404);
      expect(response.body.request_id).to.equal("trace-me-123");
      expect(response.headers.get("x-request-id")).to.equal("trace-me-123");
      expectProblem(await api(url, "/dialog/abc/list"), 404);
      const badEncoding = await api(url, "/user/get/%E0%A4%A");
      expectProblem(badEncoding, 400);
      expect(badEncoding.body.message).to.include("percent-encoding");
    });
  });

  describe("malformed requests", () => {
    it("never answers 5xx to garbage", async () => {
      const user = await newUser(url);
      const bodies = ["{", "null", "[]", '"text"', "42", '{"text": {"$gt": 1}}', "\u0000", '{"id": null}', "x".repeat(70_000)];
      const paths = [
        "/login",
        "/user/register",
        "/post/create",
        "/post/update",
        "/post/delete/x",
        "/friend/set/x",
        "/user/search?first_name[]=a&last_name=b",
        "/post/feed?limit[x]=1",
      ];
      for (const path of paths) {
        for (const rawBody of bodies) {
          for (const method of ["POST", "PUT", "GET"]) {
            const response = await api(url, path, {
              method,
              rawBody: method === "GET" ? undefined : rawBody,
              token: user.token,
              headers: { "content-type": "application/json" },
            });
            expect(response.status, `${method} ${path} ${rawBody.slice(0, 20)}`).to.be.within(200, 499);
            if (response.status >= 400) expectProblem(response, response.status);
          }
        }
      }
      expectProblem(
        await api(url, "/post/create", {
          method: "POST",
          rawBody: "x".repeat(70_000),
          token: user.token,
          headers: { "content-type": "application/json" },
        }),
        413,
      );
      expectProblem(
        await api(url, "/post/create", {
          method: "POST",
          rawBody: "text=hi",
          token: user.token,
          headers: { "content-type": "application/x-www-form-urlencoded" },
        }),
        400,
      );
    });
  });

  describe("operations", () => {
    it("serves /healthz, /readyz, /metrics, /openapi.json and /docs", async () => {
      expect((await api(url, "/healthz")).status).to.equal(200);
      const ready = await api(url, "/readyz");
      expect(ready.status).to.equal(200);
      expect(ready.body.downstreams).to.deep.equal({ "social-graph": "SERVING", posts: "SERVING", feed: "SERVING" });
      expect((await api(url, "/metrics")).body).to.include("http_requests_total");
      const spec = (await api(url, "/openapi.json")).body;
      expect(spec.paths).to.include.keys("/friend/add/{user_id}", "/post/feed", "/user/get/{id}");
      expect(spec.paths).not.to.have.key("/dialog/{user_id}/send");
      expect(spec.components.schemas.User.properties).to.include.keys("celebrity");
      expect((await api(url, "/docs/")).body).to.include("swagger-ui");
    });

    it("answers 503 with Retry-After when downstreams are unreachable, and /readyz says not ready", async function () {
      inProcess(this, system);
      const dead = "127.0.0.1:1";
      const gateway = await startGatewayFor({ socialGraph: dead, posts: dead, feed: dead });
      try {
        const deadUrl = `http://127.0.0.1:${gateway.port}`;
        const response = await api(deadUrl, `/user/get/${randomUUID()}`);
        expectProblem(response, 503);
        expect(response.headers.get("retry-after")).to.match(/^\d+$/);
        const ready = await api(deadUrl, "/readyz");
        expect(ready.status).to.equal(503);
        expect((await api(deadUrl, "/healthz")).status).to.equal(200);
      } finally {
        await gateway.stop();
      }
    });
  });
});
