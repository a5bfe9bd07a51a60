import { safeEqual } from '../../../shared/auth/api-key.guard';

/**
 * Whether an `Authorization` header carries `secret`, as Grafana, Alertmanager (`http_config`) and
 * Loki clients can send it:
 * - `Bearer <secret>` (Grafana's `authorization_scheme` default, Alertmanager `authorization`);
 * - `Basic base64(<any user>:<secret>)` (Grafana/Alertmanager basic auth, pino-loki/winston-loki
 *   `basicAuth`): the user name is ignored, the password must equal the secret.
 * Schemes are case-insensitive. An empty secret never matches (a misconfiguration must not open the
 * door). Comparison is constant-time.
 */
export function checkSharedSecret(authorizationHeader: string | undefined, secret: string): boolean {
  if (secret === '' || authorizationHeader === undefined) return false;
  const match = /^\s*([A-Za-z]+)\s+(\S.*?)\s*$/.exec(authorizationHeader);
  if (match === null) return false;
  const scheme = match[1].toLowerCase();
  const credentials = match[2];
  let presented: string | undefined;
  if (scheme === 'bearer') {
    presented = credentials;
  } else if (scheme === 'basic') {
    presented = basicPassword(credentials);
  }
  // Compare even when nothing usable was presented, so timing says nothing about the header shape.
  const equal = safeEqual(presented ?? '', secret);
  return presented !== undefined && presented !== '' && equal;
}

function basicPassword(credentials: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}
