import { offeredCredential, safeEqual } from '../../../shared/auth/api-key.guard';

/**
 * Whether an `Authorization` header carries `secret` (as a Bearer token or the Basic-auth password,
 * parsed by `offeredCredential`, the same parser as the other ingest routes' API-key guard). An
 * empty secret never matches (a misconfiguration must not open the door). Comparison is
 * constant-time.
 */
export function checkSharedSecret(authorizationHeader: string | undefined, secret: string): boolean {
  if (secret === '') return false;
  const presented = offeredCredential(authorizationHeader);
  // Compare even when nothing usable was presented, so timing says nothing about the header shape.
  const equal = safeEqual(presented ?? '', secret);
  return presented !== undefined && presented !== '' && equal;
}
