/**
 * Does the build that logged an event contain the fix? Events carry a version or commit label
 * (error_events.version, Loki `version`/`commit`/... labels) when the application sets one; a
 * deployment carries the version and/or sha it shipped. The rule (docs/verification.md):
 *
 * 1. No label on the event: it counts (we cannot tell which build logged it).
 * 2. Nothing known about the deployed build (no version, no sha, no later deploy): it counts.
 * 3. It counts when the label is one of the "fix builds": equal to the deployed version
 *    (case-insensitive, a leading `v` ignored), or a commit sha (>= 7 hex) that equals or is a prefix of
 *    a fix build's sha (or the other way round), or a label that contains such a sha
 *    (`1.4.2+abc1234`), or a semver >= a fix build's semver version (plain build numbers compare as
 *    integers). The fix builds are the deployment
 *    being verified plus every later production deployment (they ship on top of it).
 * 4. Anything else is an older (or unknown) build: recorded as `old_build_count`, never a failure.
 *    A different sha that no later deployment reported is treated as old, because fixloop cannot
 *    tell a newer build from an older one without a deployment record; a newer build is normally
 *    deployed through the deployments API and so becomes a fix build by rule 3.
 */
export interface BuildRef {
  version?: string | null;
  sha?: string | null;
}

export type BuildVerdict = 'unlabelled' | 'fix_build' | 'old_build';

/** True when an event with that verdict is a recurrence of the error (fails the fix). */
export const countsAsRecurrence = (v: BuildVerdict): boolean => v !== 'old_build';

const SHA = /^[0-9a-f]{7,64}$/i;
const SHA_TOKEN = /[0-9a-f]{7,64}/gi;
const SEMVER = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function classifyBuild(label: string | null | undefined, fixBuilds: readonly BuildRef[]): BuildVerdict {
  const value = label?.trim();
  if (!value) return 'unlabelled';
  const known = fixBuilds.filter((b) => nonBlank(b.version) || nonBlank(b.sha));
  if (known.length === 0) return 'fix_build';
  for (const build of known) {
    if (matchesBuild(value, build)) return 'fix_build';
  }
  return 'old_build';
}

function matchesBuild(value: string, build: BuildRef): boolean {
  const version = build.version?.trim();
  const sha = build.sha?.trim().toLowerCase();
  if (version) {
    if (stripV(value).toLowerCase() === stripV(version).toLowerCase()) return true;
    const a = parseSemver(value);
    const b = parseSemver(version);
    if (a && b && compareSemver(a, b) >= 0) return true;
    // Build numbers: both plain integers, a higher number is a later build.
    if (/^\d{1,15}$/.test(value) && /^\d{1,15}$/.test(version) && Number(value) >= Number(version)) return true;
    // A deployed "version" that is in fact a sha (image tags often are).
    if (SHA.test(version) && shaMatches(value, version.toLowerCase())) return true;
  }
  if (sha && shaMatches(value, sha)) return true;
  return false;
}

function shaMatches(value: string, sha: string): boolean {
  const tokens = SHA.test(value) ? [value] : (value.match(SHA_TOKEN) ?? []);
  return tokens.some((t) => {
    const token = t.toLowerCase();
    return sha.startsWith(token) || token.startsWith(sha);
  });
}

const nonBlank = (s: string | null | undefined): boolean => typeof s === 'string' && s.trim() !== '';
const stripV = (s: string): string => s.replace(/^v(?=\d)/i, '');

export interface Semver {
  parts: [number, number, number];
  pre: string[];
}

/** `1`, `1.4`, `1.4.2`, `v1.4.2-rc.1+build`: a semver-like version, missing parts as 0. */
export function parseSemver(value: string): Semver | undefined {
  const m = SEMVER.exec(value.trim());
  if (!m) return undefined;
  // A bare number is a build number, not a version, unless it has a dot or a v.
  if (m[2] === undefined && !/^v/i.test(value.trim())) return undefined;
  return {
    parts: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)],
    pre: m[4] ? m[4].split('.') : [],
  };
}

/** Semver precedence (build metadata ignored). */
export function compareSemver(a: Semver, b: Semver): number {
  for (let i = 0; i < 3; i++) {
    if (a.parts[i] !== b.parts[i]) return a.parts[i] < b.parts[i] ? -1 : 1;
  }
  if (a.pre.length === 0 || b.pre.length === 0) return b.pre.length - a.pre.length;
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i];
    const y = b.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) return Number(x) < Number(y) ? -1 : 1;
    if (xn) return -1;
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
