import { RevertReference } from './matching.contract';

export interface IdentifierHit {
  identifier: string;
  foundIn: ('title' | 'branch' | 'body')[];
}

/**
 * Step 1: `<PREFIX>-<n>` anywhere in the title, the head branch or the body, word-bounded
 * (`CHIPP-42` matches in `fix/chipp-42-cart` and `(CHIPP-42)`, never in `XCHIPP-42` or `CHIPP-421`
 * for 42). Case-insensitive, so branch names in lower case count; leading zeros are dropped.
 * Several identifiers give several links, in order of first appearance.
 */
export function findIdentifiers(
  prefix: string,
  texts: { title: string; branch: string | null; body: string | null },
): IdentifierHit[] {
  const pattern = new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(prefix)}-(\\d{1,12})(?![A-Za-z0-9])`, 'gi');
  const hits = new Map<string, IdentifierHit>();
  const scan = (text: string | null, where: 'title' | 'branch' | 'body'): void => {
    if (!text) return;
    for (const m of text.matchAll(pattern)) {
      const n = Number(m[1]);
      if (!Number.isSafeInteger(n) || n <= 0) continue;
      const identifier = `${prefix.toUpperCase()}-${n}`;
      const hit = hits.get(identifier) ?? { identifier, foundIn: [] };
      if (!hit.foundIn.includes(where)) hit.foundIn.push(where);
      hits.set(identifier, hit);
    }
  };
  scan(texts.title, 'title');
  scan(texts.branch, 'branch');
  scan(texts.body, 'body');
  return [...hits.values()];
}

/**
 * A revert PR: GitHub's "Revert" button titles it `Revert "<original title>"` and writes
 * `Reverts owner/repo#123` in the body. Returns null for any other PR.
 */
export function parseRevert(title: string, body: string | null): RevertReference | null {
  const m = /^Revert "(.*)"\s*$/s.exec(title.trim());
  if (!m) return null;
  const ref = /\bReverts\s+(?:[\w.-]+\/[\w.-]+)?#(\d+)\b/i.exec(body ?? '');
  const prNumber = ref ? Number(ref[1]) : null;
  // A number no PR can have (0, past the integer column: its lookup failed the statement) names
  // none: the reverted PR is then found by its title.
  return {
    prNumber: prNumber !== null && prNumber >= 1 && prNumber <= MAX_PR_NUMBER ? prNumber : null,
    originalTitle: m[1]!,
  };
}

/** PR numbers are kept in integer columns (issue_prs.pr_number). */
const MAX_PR_NUMBER = 2_147_483_647;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
