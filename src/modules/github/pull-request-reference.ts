import { scrubbedText } from '../../shared/security/scrubbed-text';
import { MAX_PR_NUMBER } from './github-payloads';

/** A pull request as a person names it, resolved to its repository and number. */
export interface PullRequestReference {
  owner: string;
  repo: string;
  number: number;
}

const OWNER = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})';
const REPO = '[A-Za-z0-9._-]{1,100}';
const URL_FORM = new RegExp(`^https?://[^/\\s]+/(${OWNER})/(${REPO})/pull/(\\d+)(?:[/?#]\\S*)?$`);
const SHORT_FORM = new RegExp(`^(${OWNER})/(${REPO})#(\\d+)$`);
const NUMBER_FORM = /^#?(\d+)$/;

/**
 * Reads a pull request reference: its web URL (`https://github.com/owner/repo/pull/123`, any host
 * such as GitHub Enterprise's, with or without `/files` and the like after the number),
 * `owner/repo#123`, or `#123` / `123` in `defaultRepo` (GITHUB_REPO_OWNER/GITHUB_REPO_NAME).
 * Returns the reference, or a message that names what is wrong.
 */
export function parsePullRequestReference(
  text: string,
  defaultRepo: { owner?: string; repo?: string },
): PullRequestReference | { error: string } {
  const value = text.trim();
  const full = URL_FORM.exec(value) ?? SHORT_FORM.exec(value);
  let ref: PullRequestReference;
  if (full) {
    ref = { owner: full[1]!, repo: full[2]!, number: Number(full[3]) };
  } else {
    const bare = NUMBER_FORM.exec(value);
    if (!bare) {
      return {
        error: `pullRequest must be a PR URL (https://github.com/owner/repo/pull/123), owner/repo#123 or #123; got "${scrubbedText(value, 200)}"`,
      };
    }
    if (!defaultRepo.owner || !defaultRepo.repo) {
      return {
        error: `pullRequest "${value}" names no repository and GITHUB_REPO_OWNER/GITHUB_REPO_NAME are not set: send owner/repo#${bare[1]} or the PR URL`,
      };
    }
    ref = { owner: defaultRepo.owner, repo: defaultRepo.repo, number: Number(bare[1]) };
  }
  // GitHub allows neither as a repository name; in an API path they would walk up a segment.
  if (ref.repo === '.' || ref.repo === '..') return { error: `pullRequest names no repository ("${ref.repo}")` };
  if (!Number.isSafeInteger(ref.number) || ref.number < 1 || ref.number > MAX_PR_NUMBER) {
    return { error: `pullRequest number must be between 1 and ${MAX_PR_NUMBER}; got ${ref.number}` };
  }
  return ref;
}
