import { errors as joseErrors, jwtVerify, SignJWT } from "jose";

/** Written into every token and required back, so tokens of another system with the same key do not pass. */
const ISSUER = "fanfare";
const ALGORITHM = "HS256";

export class InvalidToken extends Error {
  override readonly name = "InvalidToken";
}

/** Signed, expiring bearer tokens whose subject is the user id. */
export class Tokens {
  private readonly key: Uint8Array;

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
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: [ALGORITHM], issuer: ISSUER });
      if (typeof payload.sub !== "string" || payload.sub === "") throw new InvalidToken("token has no subject");
      return payload.sub;
    } catch (error) {
      if (error instanceof InvalidToken) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new InvalidToken("token expired");
      throw new InvalidToken("invalid token");
    }
  }
}
