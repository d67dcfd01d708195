import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ExpiringMap } from "@fanfare/runtime";

/** Written into every token and required back, so tokens of another system with the same key do not pass. */
const ISSUER = "fanfare";
const ALGORITHM = "HS256";

export class InvalidToken extends Error {
  override readonly name = "InvalidToken";
}

/** Verified tokens remembered, so a client's every request does not pay for an HMAC again. */
const VERIFIED_CACHE_SIZE = 10_000;

/** Signed, expiring bearer tokens whose subject is the user id. */
export class Tokens {
  private readonly key: Uint8Array;
  /** token -> subject; only tokens that verified, and only until they expire. */
  private readonly verified = new ExpiringMap<string>(VERIFIED_CACHE_SIZE);

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  issue(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The user id in a valid token; InvalidToken for anything forged, tampered, expired or malformed. */
  async verify(token: string): Promise<string> {
    const known = this.verified.get(token);
    if (known) return known;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: [ALGORITHM], issuer: ISSUER });
      if (typeof payload.sub !== "string" || payload.sub === "") throw new InvalidToken("token has no subject");
      this.verified.set(token, payload.sub, (payload.exp ?? 0) * 1000);
      return payload.sub;
    } catch (error) {
      if (error instanceof InvalidToken) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new InvalidToken("token expired");
      throw new InvalidToken("invalid token");
    }
  }
}
