import type { Logger } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { APP_VERSION } from '../version';

export interface GitHubApiSettings {
  GITHUB_API_URL: string;
  GITHUB_TOKEN?: string;
}

/**
 * The one way fixloop builds a GitHub REST client (spawn's workflow dispatches, the deployments'
 * compare calls, PR look-ups): `GITHUB_API_URL` as the base URL (GitHub Enterprise, or a local
 * server in tests), the token when there is one (public repositories are readable without), one
 * user agent, and Octokit's own request logging sent to debug, since every caller logs a failure
 * once, where it handles it.
 */
export function createOctokit(settings: GitHubApiSettings, logger: Logger): Octokit {
  const log = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => logger.debug(message),
    error: (message: string) => logger.debug(message),
  };
  return new Octokit({
    ...(settings.GITHUB_TOKEN ? { auth: settings.GITHUB_TOKEN } : {}),
    baseUrl: settings.GITHUB_API_URL.replace(/\/+$/, ''),
    userAgent: `fixloop/${APP_VERSION}`,
    log,
    // @octokit/request logs (deprecation notices) to `request.log`, else to the console.
    request: { log },
  });
}
