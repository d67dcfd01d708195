import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { expect } from "chai";

type Json = Record<string, any>;

/** The prefixes the gateway serves the same API under (the spec's `servers`). */
const PREFIXES = /^\/api\/v[12](?=\/)/;

/**
 * Checks answers against the OpenAPI document the gateway serves, as a client generated from it
 * would see them: the status must be declared for the operation, and the body must match the
 * declared schema (or be empty where none is declared). Paths the document does not describe
 * (unknown routes, /metrics, /docs) are left alone.
 */
export class Contract {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly operations: { method: string; template: string; pattern: RegExp; operation: Json }[];

  private constructor(private readonly spec: Json) {
    (addFormats as unknown as (ajv: Ajv) => void)(this.ajv);
    this.operations = Object.entries(spec.paths as Json).flatMap(([template, item]) =>
      Object.entries(item as Json).map(([method, operation]) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}/?$`),
        operation: operation as Json,
      })),
    );
  }

  static async load(baseUrl: string): Promise<Contract> {
    const response = await fetch(`${baseUrl}/openapi.json`);
    expect(response.status, "GET /openapi.json").to.equal(200);
    return new Contract((await response.json()) as Json);
  }

  /** Asserts that this answer is one the contract admits. */
  check(method: string, url: string, status: number, contentType: string, body: unknown, text: string): void {
    const path = new URL(url, "http://gateway").pathname.replace(PREFIXES, "");
    const found = this.operations.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (!found) return;
    const where = `${method} ${found.template} answered ${status}`;
    const declared =
      found.operation.responses[String(status)] ?? found.operation.responses[`${String(status)[0]}XX`] ?? found.operation.responses.default;
    expect(declared, `${where}, a status /openapi.json does not declare: ${text.slice(0, 200)}`).to.not.equal(undefined);
    const response = this.resolve(declared);
    const schema = response.content?.["application/json"]?.schema;
    if (!schema) {
      expect(text, `${where} with a body where /openapi.json declares none`).to.equal("");
      return;
    }
    expect(contentType, `${where}: content type`).to.include("application/json");
    const validate = this.validator(`${method} ${found.template} ${status}`, schema);
    expect(
      validate(body),
      `${where} with a body that does not match its schema: ${this.ajv.errorsText(validate.errors)}; body: ${text.slice(0, 300)}`,
    ).to.equal(true);
  }

  private resolve(node: Json): Json {
    if (!node.$ref) return node;
    const target = (node.$ref as string)
      .replace(/^#\//, "")
      .split("/")
      .reduce<Json>((at, key) => at[key] as Json, this.spec);
    return this.resolve(target);
  }

  /** Schemas compile with the document's components beside them, so their "#/components/..." references resolve. */
  private validator(key: string, schema: Json): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile({ allOf: [schema], components: this.spec.components });
      this.validators.set(key, validate);
    }
    return validate;
  }
}
