import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { hash, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/config';
import { DomainError } from '../errors/domain-error';
import { singleHeaderOf } from '../http/request-headers';
import { AUTH_SCOPES_KEY, AuthScope } from './auth-scope';

/** Digests of the configured secrets `safeEqual` compares against (a handful: never what a caller offers). */
const expectedDigests = new Map<string, Buffer>();
const MAX_EXPECTED_DIGESTS = 32;

const sha256 = (value: string): Buffer => hash('sha256', value, 'buffer');

/**
 * Constant-time comparison of an offered credential with a configured secret that does not leak
 * the length either: both are hashed to 32 bytes first. The secret's digest is computed once (this
 * runs for every ingest request); `expected` must therefore be configuration, never request input.
 */
export function safeEqual(offered: string, expected: string): boolean {
  return matchingSecret(offered, [expected]) === 0;
}

/**
 * `safeEqual` against several configured secrets at once: the offered credential is hashed once and
 * compared with every secret (no early exit, so timing does not tell which matched). Returns the
 * index of the first secret it equals, or -1.
 */
export function matchingSecret(offered: string, expected: readonly string[]): number {
  const digest = sha256(offered);
  let found = -1;
  expected.forEach((secret, i) => {
    if (timingSafeEqual(digest, expectedDigest(secret)) && found === -1) found = i;
  });
  return found;
}

function expectedDigest(expected: string): Buffer {
  let digest = expectedDigests.get(expected);
  if (digest === undefined) {
    digest = sha256(expected);
    if (expectedDigests.size < MAX_EXPECTED_DIGESTS) expectedDigests.set(expected, digest);
  }
  return digest;
}

/** The refusal of a request whose `Authorization` header was sent more than once (ambiguous: RFC 9110 allows one). */
export const REPEATED_AUTHORIZATION = 'Invalid credentials: the Authorization header was sent more than once';

/**
 * The credential offered in an `Authorization` header, as Grafana, Alertmanager (`http_config`),
 * Loki clients and API callers send it; the one parser of that header for every route:
 * - `Bearer <credential>`: everything after the scheme, surrounding whitespace trimmed;
 * - `Basic base64(<any user>:<password>)`: the password (the user name is ignored); the value must
 *   be standard base64 (RFC 7617), anything else offers nothing.
 * Schemes are case-insensitive. Undefined for other schemes, an empty value or a malformed header.
 */
export function offeredCredential(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^\s*([A-Za-z]+)\s+(\S.*?)\s*$/.exec(authorization);
  if (match === null) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme === 'bearer') return match[2];
  if (scheme === 'basic') return basicPassword(match[2]);
  return undefined;
}

/**
 * The 401 for a request that offers no credential fixloop can read: `howTo` says what to send, and
 * an `Authorization` header that was sent but offers nothing is named by what is wrong with it (a
 * contact point set to another scheme, `Token <secret>`, otherwise reads as if it sent nothing).
 * Never quotes the credentials themselves.
 */
export function missingCredentials(authorization: string | undefined, howTo: string): string {
  if (authorization === undefined || authorization.trim() === '') return `Missing credentials: ${howTo}`;
  // Only a word of letters followed by credentials is quoted as a scheme (Token, Digest, ApiKey); a
  // lone word, or one with digits or symbols, is more likely a bare secret and never quoted.
  const parts = /^\s*([A-Za-z]{1,20})(?=\s|$)(\s+\S)?/.exec(authorization);
  const problem =
    parts === null
      ? 'the Authorization header is not "<scheme> <credentials>"'
      : /^(bearer|basic)$/i.test(parts[1])
        ? `the ${parts[1]} credentials are empty or malformed`
        : parts[2] === undefined
          ? 'the Authorization header has no scheme'
          : `the Authorization scheme "${parts[1]}" is not one fixloop reads (Bearer or Basic)`;
  return `Missing credentials (${problem}): ${howTo}`;
}

function basicPassword(credentials: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * Global guard. Routes without @RequireScope are public (health, docs). A missing or unknown key
 * is 401; a valid key of another scope (the agent key on an admin route) is 403.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const scopes = this.reflector.getAllAndOverride<AuthScope[] | undefined>(AUTH_SCOPES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!scopes || scopes.length === 0) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest & { authScope?: AuthScope }>();
    const authorization = singleHeaderOf(req, 'authorization');
    if (authorization === null) throw new DomainError('unauthorized', 'AUTH_INVALID', REPEATED_AUTHORIZATION);
    const credential = offeredCredential(authorization);
    if (!credential) {
      throw new DomainError(
        'unauthorized',
        'AUTH_MISSING',
        missingCredentials(authorization, 'send Authorization: Bearer <key>'),
      );
    }
    const held = this.scopeOf(credential);
    if (!held) throw new DomainError('unauthorized', 'AUTH_INVALID', 'Invalid credentials');
    if (!scopes.includes(held)) {
      throw new DomainError(
        'forbidden',
        'AUTH_WRONG_SCOPE',
        `This key (${held}) may not call this route; it needs: ${scopes.join(' or ')}`,
      );
    }
    req.authScope = held;
    return true;
  }

  private scopeOf(credential: string): AuthScope | undefined {
    const scopes: AuthScope[] = ['admin', 'agent', 'ingest'];
    const { ADMIN_API_KEY, AGENT_API_KEY, LOKI_WEBHOOK_SECRET } = this.config;
    return scopes[matchingSecret(credential, [ADMIN_API_KEY, AGENT_API_KEY, LOKI_WEBHOOK_SECRET])];
  }
}
