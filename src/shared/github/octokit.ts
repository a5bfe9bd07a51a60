import type { Logger } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { APP_VERSION } from '../version';

export interface GitHubApiSettings {
  GITHUB_API_URL: string;
  GITHUB_TOKEN?: string;
  /** Longest wait for one GitHub call (a caller's own signal wins). */
  GITHUB_HTTP_TIMEOUT_SECONDS?: number;
}

/**
 * The one way fixloop builds a GitHub REST client (spawn's workflow dispatches, the deployments'
 * compare calls, PR look-ups): `GITHUB_API_URL` as the base URL (GitHub Enterprise, or a local
 * server in tests), the token when there is one (public repositories are readable without), one
 * user agent, a time limit on every call (GITHUB_HTTP_TIMEOUT_SECONDS: a GitHub that never answers
 * fails the call instead of holding its caller), and Octokit's own request logging sent to debug,
 * since every caller logs a failure once, where it handles it.
 */
export function createOctokit(settings: GitHubApiSettings, logger: Logger): Octokit {
  const log = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => logger.debug(message),
    error: (message: string) => logger.debug(message),
  };
  const octokit = new Octokit({
    ...(settings.GITHUB_TOKEN ? { auth: settings.GITHUB_TOKEN } : {}),
    baseUrl: settings.GITHUB_API_URL.replace(/\/+$/, ''),
    userAgent: `fixloop/${APP_VERSION}`,
    log,
    // @octokit/request logs (deprecation notices) to `request.log`, else to the console.
    request: { log },
  });
  const timeoutMs = Math.round((settings.GITHUB_HTTP_TIMEOUT_SECONDS ?? 0) * 1000);
  if (timeoutMs > 0) {
    const ours = new WeakSet<AbortSignal>();
    octokit.hook.before('request', (options) => {
      if (options.request?.signal !== undefined) return; // the caller's own limit
      const signal = AbortSignal.timeout(timeoutMs);
      ours.add(signal);
      options.request = { ...options.request, signal };
    });
    octokit.hook.error('request', (err, options) => {
      const signal = options.request?.signal as AbortSignal | undefined;
      if (signal === undefined || !ours.has(signal) || !signal.aborted) throw err;
      // Octokit reports an aborted fetch as "Unknown Error": say what happened
      throw new Error(`GitHub did not answer ${options.method} ${options.url} within ${timeoutMs / 1000} s`, {
        cause: err,
      });
    });
  }
  return octokit;
}
