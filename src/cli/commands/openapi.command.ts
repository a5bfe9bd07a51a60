import { readFileSync, writeFileSync } from 'node:fs';
import { buildOpenApiDocument, createApp } from '../../app.factory';
import { loadConfig } from '../../shared/config/config.loader';
import { CliCommand, CliUsageError, parseOptions } from '../cli-command';

/** Keys for building the document only: the preview app opens no database and serves nothing. */
const DOC_ENV = {
  DATA_DIR: 'memory://',
  ADMIN_API_KEY: 'openapi-export-admin-key',
  AGENT_API_KEY: 'openapi-export-agent-key',
  LOKI_WEBHOOK_SECRET: 'openapi-export-secret',
  GITHUB_WEBHOOK_SECRET: 'openapi-export-secret',
};

export async function renderOpenApi(): Promise<string> {
  const app = await createApp(loadConfig(DOC_ENV), { logger: false, preview: true });
  const doc = buildOpenApiDocument(app);
  await app.close();
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export const openapiCommand: CliCommand = {
  name: 'openapi',
  summary: 'Print the OpenAPI document, write it (--out F) or fail if F drifted (--check F)',
  usage: 'openapi [--out FILE | --check FILE]',
  async run(args, io) {
    const flags = parseOptions(args, { values: ['out', 'check'] });
    if (flags.out !== undefined && flags.check !== undefined)
      throw new CliUsageError('--out and --check exclude each other');
    const json = await renderOpenApi();
    if (typeof flags.check === 'string') {
      let committed: string;
      try {
        committed = readFileSync(flags.check, 'utf8');
      } catch (err) {
        io.stderr.write(`fixloop openapi: cannot read ${flags.check}: ${(err as Error).message}\n`);
        return 1;
      }
      if (committed !== json) {
        io.stderr.write(`${flags.check} is out of date with the code: run \`npm run openapi\` and commit it.\n`);
        return 1;
      }
      io.stdout.write(`${flags.check} matches the code\n`);
      return 0;
    }
    if (typeof flags.out === 'string') {
      writeFileSync(flags.out, json);
      io.stdout.write(`wrote ${flags.out}\n`);
      return 0;
    }
    io.stdout.write(json);
    return 0;
  },
};
