import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { APP_VERSION } from '../version';
import { createOctokit } from './octokit';

describe('createOctokit', () => {
  let server: Server;
  let baseUrl: string;
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      // A deprecation header makes Octokit itself log a warning.
      res.writeHead(200, { 'content-type': 'application/json', deprecation: 'Sat, 01 Jan 2022 00:00:00 GMT' });
      res.end(JSON.stringify({ login: 'octocat' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('calls GITHUB_API_URL (trailing slashes dropped) with the token and the fixloop user agent', async () => {
    const logger = new Logger('test');
    const octokit = createOctokit({ GITHUB_API_URL: `${baseUrl}/api/v3//`, GITHUB_TOKEN: 'ghp_example' }, logger);

    await octokit.rest.users.getAuthenticated();

    expect(seen).toHaveLength(1);
    expect(seen[0].url).toBe('/api/v3/user');
    expect(seen[0].headers.authorization).toBe('token ghp_example');
    expect(seen[0].headers['user-agent']).toContain(`fixloop/${APP_VERSION}`);
  });

  it('sends no credentials without a token', async () => {
    const octokit = createOctokit({ GITHUB_API_URL: baseUrl }, new Logger('test'));

    await octokit.rest.users.getByUsername({ username: 'octocat' });

    expect(seen[0].url).toBe('/users/octocat');
    expect(seen[0].headers.authorization).toBeUndefined();
  });

  it("sends Octokit's own warnings to the caller's logger at debug level", async () => {
    const logger = new Logger('test');
    const debug = jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const octokit = createOctokit({ GITHUB_API_URL: baseUrl }, logger);

    await octokit.rest.users.getByUsername({ username: 'octocat' });

    expect(debug).toHaveBeenCalledWith(expect.stringContaining('deprecated'));
    expect(warn).not.toHaveBeenCalled();
  });
});
