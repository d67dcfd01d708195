import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { Contract } from "./contract.js";

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, the raw text otherwise ("" for an empty body). */
  body: any;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Sent as is, not JSON-encoded: for malformed bodies. */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

const contracts = new Map<string, Promise<Contract>>();

/** The served /openapi.json of a gateway, loaded once per gateway. */
function contractOf(baseUrl: string): Promise<Contract> {
  let contract = contracts.get(baseUrl);
  if (!contract) {
    contract = Contract.load(baseUrl);
    contracts.set(baseUrl, contract);
  }
  return contract;
}

/**
 * One request to the gateway. Every answer is checked against the gateway's own /openapi.json
 * (declared status, body matching its schema): a shape that drifts from the contract fails the test.
 */
export async function api(baseUrl: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}${path}`, { method: options.method ?? "GET", headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  const contentType = response.headers.get("content-type") ?? "";
  if (contentType.includes("json") && text !== "") parsed = JSON.parse(text);
  (await contractOf(baseUrl)).check(options.method ?? "GET", path, response.status, contentType, parsed, text);
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Asserts the error shape every failure shares: JSON {message, request_id, code}. */
export function expectProblem(response: ApiResponse, status: number): void {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
  expect(response.body).to.be.an("object");
  expect(response.body.message).to.be.a("string").and.not.equal("");
  expect(response.body.request_id).to.be.a("string").and.not.equal("");
  expect(response.body.code).to.equal(status);
}

export interface TestUser {
  id: string;
  token: string;
  password: string;
  firstName: string;
  secondName: string;
}

/** Registers and logs in a fresh user with a unique name. */
export async function newUser(baseUrl: string, overrides: Record<string, unknown> = {}): Promise<TestUser> {
  const tag = randomUUID().slice(0, 8);
  const profile = {
    first_name: `Тест${tag}`,
    second_name: `Юзер${tag}`,
    birthdate: "1990-01-01",
    biography: "тесты",
    city: "Москва",
    password: `pw-${tag}`,
    ...overrides,
  };
  const registered = await api(baseUrl, "/user/register", { method: "POST", body: profile });
  expect(registered.status, JSON.stringify(registered.body)).to.equal(200);
  const id = registered.body.user_id as string;
  const login = await api(baseUrl, "/login", { method: "POST", body: { id, password: profile.password } });
  expect(login.status, JSON.stringify(login.body)).to.equal(200);
  return {
    id,
    token: login.body.token,
    password: String(profile.password),
    firstName: String(profile.first_name),
    secondName: String(profile.second_name),
  };
}

/** Polls until `check` passes or the timeout runs out; the last failure is rethrown. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
