import { INestApplication, Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { preBodyAuth } from './shared/auth/pre-body-auth.middleware';
import { AppConfig } from './shared/config/config';
import { InvalidInputError } from './shared/errors/domain-error';
import { JsonLogger } from './shared/logging/json-logger';
import { APP_VERSION } from './shared/version';

/** The routes that take LOKI_WEBHOOK_SECRET; the webhook may instead carry Grafana's HMAC signature. */
const INGEST_ROUTES = [
  { path: '/api/loki/webhook', deferToHeader: 'x-grafana-alerting-signature' },
  { path: '/loki/api/v1/push' },
  { path: '/api/events' },
];

export interface CreateAppOptions {
  logger?: JsonLogger | false;
  /** Build the module graph without instantiating providers (no database): for the OpenAPI export. */
  preview?: boolean;
}

/**
 * Builds the configured application (used by `fixloop serve`, the OpenAPI export and the tests):
 * raw bodies kept for signature checks, a strict global ValidationPipe, body limits, Swagger at /docs.
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const logger = options.logger ?? new JsonLogger(config.LOG_FORMAT, config.LOG_LEVEL);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    rawBody: true,
    bodyParser: false,
    logger: logger === false ? false : logger,
    abortOnError: false,
    preview: options.preview ?? false,
  });
  const limit = config.REQUEST_BODY_LIMIT_BYTES;
  // Ingest receivers: a missing or wrong secret is refused before the body is read.
  app.use(preBodyAuth(INGEST_ROUTES, () => [config.LOKI_WEBHOOK_SECRET, config.ADMIN_API_KEY, config.AGENT_API_KEY]));
  app.useBodyParser('json', { limit, type: ['application/json', 'application/*+json'] });
  app.useBodyParser('raw', {
    limit,
    // Loki's protobuf pushes may say `Content-Encoding: snappy`, which body-parser refuses: those
    // bodies are left to the push route, which reads them raw and decodes them itself.
    type: (req) =>
      !/snappy/i.test(String(req.headers['content-encoding'] ?? '')) &&
      /^application\/(x-protobuf|octet-stream|x-snappy-framed)\b/i.test(String(req.headers['content-type'] ?? '')),
  });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) =>
        new InvalidInputError('VALIDATION_FAILED', errors.flatMap((e) => flattenValidation(e)).join('; ')),
    }),
  );
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  return app;
}

function flattenValidation(
  e: { property: string; constraints?: Record<string, string>; children?: unknown[] },
  prefix = '',
): string[] {
  const path = prefix ? `${prefix}.${e.property}` : e.property;
  const own = Object.values(e.constraints ?? {}).map((m) =>
    m.startsWith(e.property) ? m.replace(e.property, path) : `${path}: ${m}`,
  );
  const children = (e.children ?? []).flatMap((c) =>
    flattenValidation(c as { property: string; constraints?: Record<string, string>; children?: unknown[] }, path),
  );
  return [...own, ...children];
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const doc = new DocumentBuilder()
    .setTitle('fixloop')
    .setDescription(
      'Autonomous error remediation: errors from Loki become deduplicated issues, AI agents open fix PRs, ' +
        'fixloop follows them to production and verifies the fix.',
    )
    .setVersion(APP_VERSION)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'ADMIN_API_KEY' }, 'admin-key')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'AGENT_API_KEY (the workflow secret CHIPP_ISSUES_API_KEY)' },
      'agent-key',
    )
    .addSecurity('ingest-secret', {
      type: 'http',
      scheme: 'bearer',
      description: 'LOKI_WEBHOOK_SECRET as a Bearer token, or as the password of HTTP Basic auth',
    })
    .build();
  return SwaggerModule.createDocument(app, doc);
}

export async function startApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await createApp(config);
  await app.listen(config.PORT);
  const log = new Logger('fixloop');
  log.log(`fixloop ${APP_VERSION} listening on port ${config.PORT} (database: ${config.databaseKind})`);
  if (config.generatedKeysFile) {
    log.warn(
      `API keys were generated for the embedded database and are kept in ${config.generatedKeysFile} (mode 0600)`,
    );
  }
  return app;
}
