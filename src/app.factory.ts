import { INestApplication, Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import {
  GRAFANA_SIGNATURE_HEADER,
  authenticateWebhook,
  webhookSignatureBeforeBody,
} from './modules/ingest/ingest.contract';
import { PreBodyAuthRoute, preBodyAuth } from './shared/auth/pre-body-auth.hook';
import { AppConfig } from './shared/config/config';
import { InvalidInputError } from './shared/errors/domain-error';
import { registerBodyParsing } from './shared/http/body-parsing';
import { clientErrorReply, frameworkErrorReply } from './shared/errors/framework-errors';
import { registerStorableUrlText } from './shared/http/url-text';
import { registerCorrelationId } from './shared/logging/correlation-id.hooks';
import { JsonLogger } from './shared/logging/json-logger';
import { APP_VERSION } from './shared/version';

const WEBHOOK_ROUTE = '/api/loki/webhook';
/** The routes that take LOKI_WEBHOOK_SECRET; the webhook may instead carry Grafana's HMAC signature. */
const ingestRoutes = (config: AppConfig): PreBodyAuthRoute[] => [
  { path: WEBHOOK_ROUTE, alternative: (req) => webhookSignatureBeforeBody(req, config) },
  { path: '/loki/api/v1/push' },
  { path: '/api/events' },
];
/** Loki's push API reads its bodies itself (snappy protobuf without a Content-Type, raw DEFLATE). */
const RAW_BODY_ROUTES = ['/loki/api/v1/push'];

export interface CreateAppOptions {
  logger?: JsonLogger | false;
  /** Build the module graph without instantiating providers (no database): for the OpenAPI export. */
  preview?: boolean;
}

/**
 * Builds the configured application (used by `fixloop serve`, the OpenAPI export and the tests) on
 * Fastify: raw bodies kept for signature checks, body limits and encodings (`registerBodyParsing`),
 * storable path and query text (`registerStorableUrlText`), framework and HTTP-parser refusals in the
 * house error shape, correlation ids, the ingest receivers' auth before their bodies are read, a
 * strict global ValidationPipe, Swagger at /docs.
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? new JsonLogger(config.LOG_FORMAT, config.LOG_LEVEL);
  const limit = config.REQUEST_BODY_LIMIT_BYTES;
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter({
      bodyLimit: limit,
      routerOptions: { ignoreTrailingSlash: true },
      frameworkErrors: frameworkErrorReply,
      clientErrorHandler: clientErrorReply,
    }),
    {
      rawBody: true,
      bodyParser: false,
      logger: logger === false ? false : logger,
      abortOnError: false,
      preview: options.preview ?? false,
    },
  );
  // Hooks before Nest registers its routes (app.init), so that they apply to every route.
  const fastify = app.getHttpAdapter().getInstance();
  registerCorrelationId(fastify);
  // Ingest receivers: a missing or wrong secret is refused before the body is read.
  fastify.addHook(
    'onRequest',
    preBodyAuth(ingestRoutes(config), () => ({
      scope: 'ingest',
      secret: config.LOKI_WEBHOOK_SECRET,
      others: [
        { scope: 'admin', secret: config.ADMIN_API_KEY },
        { scope: 'agent', secret: config.AGENT_API_KEY },
      ],
    })),
  );
  registerBodyParsing(app, {
    limit,
    rawRoutes: RAW_BODY_ROUTES,
    // A signed webhook's signature is checked over the bytes before they are parsed (a secret was
    // checked before the body was read: that needs nothing more here).
    verifyBeforeParse: {
      [WEBHOOK_ROUTE]: (req, raw) => {
        if (req.headers[GRAFANA_SIGNATURE_HEADER] !== undefined) authenticateWebhook(req, raw, config);
      },
    },
  });
  registerStorableUrlText(fastify);
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

export async function startApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createApp(config);
  // Fastify listens on localhost unless told otherwise; a service answers on every interface.
  await app.listen(config.PORT, '0.0.0.0');
  const log = new Logger('fixloop');
  log.log(`fixloop ${APP_VERSION} listening on port ${config.PORT} (database: ${config.databaseKind})`);
  if (config.generatedKeysFile) {
    log.warn(
      `API keys were generated for the embedded database and are kept in ${config.generatedKeysFile} (mode 0600)`,
    );
  }
  return app;
}
