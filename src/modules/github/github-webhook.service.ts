import { Inject, Injectable, Logger } from '@nestjs/common';
import { hash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { mayHoldUnstorableText, storableJson } from '../../shared/database/pg-text';
import { DomainError } from '../../shared/errors/domain-error';
import { JsonObject, isJsonObject } from '../../shared/json';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { WorkflowRunReported } from '../../shared/events/event-catalogue';
import { githubDeploymentKey } from '../deployments/deployments.contract';
import { DeploymentsFacade } from '../deployments/deployments.facade';
import { MatchingFacade } from '../matching/matching.facade';
import { PayloadError, readDeploymentStatus, readPullRequest, readWorkflowRun } from './github-payloads';
import { DeliveryKey, WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookSignatureVerifier } from './webhook-signature';

export interface WebhookDelivery {
  event: string | undefined;
  deliveryId: string | undefined;
  signature256: string | undefined;
  rawBody: Buffer | undefined;
}

export interface WebhookResult {
  /** 200 processed/duplicate/pong, 202 ignored. */
  httpStatus: 200 | 202;
  body: Record<string, unknown>;
}

const PR_ACTIONS = new Set(['opened', 'edited', 'reopened', 'synchronize', 'closed', 'ready_for_review']);

/**
 * What an `X-GitHub-Delivery` may be. GitHub sends a GUID (36 characters); this takes any short
 * token of the characters ids are made of, and refuses what GitHub never sends: control and
 * non-ASCII characters, spaces, two ids joined by a repeated header (`a, b`), kilobytes.
 */
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * GitHub webhooks: signature first (nothing is read or written before it), then exactly-once by
 * `X-GitHub-Delivery` and by the signed body: the delivery row (id and SHA-256 of the body, each
 * unique) is inserted in the same transaction as the event's effects, so a redelivery is
 * recognised, a failed one can be redelivered, and a captured body sent again under a new id
 * (the signature does not cover the id) is a duplicate too. Events are emitted after commit.
 */
@Injectable()
export class GithubWebhookService {
  private readonly logger = new Logger(GithubWebhookService.name);
  private readonly verifier: WebhookSignatureVerifier;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly matching: MatchingFacade,
    private readonly deployments: DeploymentsFacade,
    private readonly events: DomainEventBus,
  ) {
    this.verifier = new WebhookSignatureVerifier(config.GITHUB_WEBHOOK_SECRET);
  }

  async receive(d: WebhookDelivery): Promise<WebhookResult> {
    if (!this.verifier.configured) {
      throw new DomainError(
        'unavailable',
        'GITHUB_WEBHOOK_NOT_CONFIGURED',
        'GITHUB_WEBHOOK_SECRET is not set: fixloop refuses unsigned GitHub webhooks',
      );
    }
    if (!d.signature256)
      throw new DomainError('unauthorized', 'GITHUB_SIGNATURE_MISSING', 'X-Hub-Signature-256 is missing');
    if (!d.rawBody || d.rawBody.length === 0) {
      throw new DomainError(
        'unsupported_media_type',
        'GITHUB_CONTENT_TYPE',
        'Send the webhook with content type application/json',
      );
    }
    if (!(await this.verifier.verify(d.rawBody, d.signature256))) {
      throw new DomainError(
        'unauthorized',
        'GITHUB_SIGNATURE_INVALID',
        'X-Hub-Signature-256 does not match the body and GITHUB_WEBHOOK_SECRET',
      );
    }
    if (!d.event) throw new DomainError('invalid', 'GITHUB_EVENT_MISSING', 'X-GitHub-Event is missing');
    if (!d.deliveryId) throw new DomainError('invalid', 'GITHUB_DELIVERY_MISSING', 'X-GitHub-Delivery is missing');
    if (!DELIVERY_ID.test(d.deliveryId)) {
      // The value is not quoted: it is not an id, and may be anything up to the header limit.
      throw new DomainError(
        'invalid',
        'GITHUB_DELIVERY_INVALID',
        `X-GitHub-Delivery must be 1 to 128 letters, digits, '-', '_', '.' or ':' (GitHub sends a GUID); the one sent is not (${d.deliveryId.length} characters)`,
      );
    }
    const key: DeliveryKey = { deliveryId: d.deliveryId, bodySha256: hash('sha256', d.rawBody) };
    let payload: unknown;
    const text = d.rawBody.toString('utf8');
    try {
      payload = JSON.parse(text) as unknown;
    } catch {
      throw new DomainError('invalid', 'GITHUB_INVALID_JSON', 'The body is not JSON');
    }
    // Parsed here from the signed bytes, so the JSON routes' parser did not make it storable: a PR
    // title or a deployment's version holding NUL or an unpaired surrogate would fail the statement.
    // Every GitHub event payload is an object; a ping read `zen` of null and answered 500.
    if (!isJsonObject(payload)) {
      throw new DomainError('invalid', 'GITHUB_INVALID_PAYLOAD', 'The body must be a JSON object, as GitHub sends');
    }
    const body = mayHoldUnstorableText(text) ? (storableJson(payload) as JsonObject) : payload;
    try {
      switch (d.event) {
        case 'ping':
          return await this.ping(key, body);
        case 'pull_request':
          return await this.pullRequest(key, body);
        case 'workflow_run':
          return await this.workflowRun(key, body);
        case 'deployment_status':
          return await this.deploymentStatus(key, body);
        default:
          return {
            httpStatus: 202,
            body: { status: 'ignored', event: d.event, reason: `fixloop does not handle ${d.event} events` },
          };
      }
    } catch (err) {
      if (err instanceof PayloadError) throw new DomainError('invalid', 'GITHUB_INVALID_PAYLOAD', err.message);
      throw err;
    }
  }

  private async ping(key: DeliveryKey, p: JsonObject): Promise<WebhookResult> {
    await this.dataSource.transaction((m) => this.deliveries.claim(m, key, 'ping', null));
    return {
      httpStatus: 200,
      body: {
        status: 'pong',
        zen: typeof p.zen === 'string' ? p.zen : null,
        hookId: typeof p.hook_id === 'number' ? p.hook_id : null,
      },
    };
  }

  private async pullRequest(key: DeliveryKey, payload: unknown): Promise<WebhookResult> {
    const { action, pr } = readPullRequest(payload);
    if (!PR_ACTIONS.has(action)) {
      return {
        httpStatus: 202,
        body: { status: 'ignored', event: 'pull_request', action, reason: `action ${action} does not change a fix` },
      };
    }
    if (await this.deliveries.seen(key)) return duplicate(key);
    // Matching may call an embedding service or an LLM: done before the transaction opens.
    const prepared = await this.matching.prepare(action, pr);
    const result = await this.dataSource.transaction(async (m) => {
      if (!(await this.deliveries.claim(m, key, 'pull_request', action))) return null;
      return this.matching.applyPullRequestEvent(m, action, pr, prepared, key.deliveryId);
    });
    if (!result) return duplicate(key);
    await result.afterCommit();
    return {
      httpStatus: 200,
      body: {
        status: 'processed',
        event: 'pull_request',
        action,
        pr: `${pr.repoOwner}/${pr.repoName}#${pr.number}`,
        linked: result.linked.map((l) => ({ identifier: l.identifier, method: l.method })),
        moves: result.moves.map((mv) => ({ issueId: mv.issueId, from: mv.from, to: mv.to })),
        reverted: result.reverted.length,
        matching: prepared
          ? prepared.steps.map((s) => ({ step: s.step, status: s.status, reason: s.reason }))
          : 'not run',
      },
    };
  }

  private async workflowRun(key: DeliveryKey, payload: unknown): Promise<WebhookResult> {
    const { action, run } = readWorkflowRun(payload);
    const claimed = await this.dataSource.transaction((m) => this.deliveries.claim(m, key, 'workflow_run', action));
    if (!claimed) return duplicate(key);
    await this.events.emit(
      'workflow_run.reported',
      new WorkflowRunReported(
        run.runId,
        run.runName,
        run.workflowId,
        run.status,
        run.conclusion,
        run.htmlUrl,
        run.updatedAt,
      ),
    );
    return {
      httpStatus: 200,
      body: { status: 'processed', event: 'workflow_run', action, runId: run.runId, runName: run.runName },
    };
  }

  private async deploymentStatus(key: DeliveryKey, payload: unknown): Promise<WebhookResult> {
    const facts = readDeploymentStatus(payload);
    if (facts.state !== 'success') {
      return {
        httpStatus: 202,
        body: { status: 'ignored', event: 'deployment_status', reason: `state ${facts.state} is not success` },
      };
    }
    if (facts.environment !== this.config.PRODUCTION_ENVIRONMENT) {
      return {
        httpStatus: 202,
        body: {
          status: 'ignored',
          event: 'deployment_status',
          reason: `environment ${facts.environment} is not ${this.config.PRODUCTION_ENVIRONMENT}`,
        },
      };
    }
    const recorded = await this.dataSource.transaction(async (m) => {
      if (!(await this.deliveries.claim(m, key, 'deployment_status', facts.state))) return null;
      return this.deployments.recordGithubDeployment(m, {
        // GitHub deployment ids are global; the repository is kept in the key so that only its PRs are checked.
        externalId: githubDeploymentKey(facts.repoOwner, facts.repoName, facts.deploymentId),
        environment: facts.environment,
        sha: facts.sha,
        version: facts.version,
        prNumbers: [],
        deployedAt: facts.deployedAt,
      });
    });
    if (!recorded) return duplicate(key);
    recorded.afterCommit();
    return {
      httpStatus: 200,
      body: {
        status: 'processed',
        event: 'deployment_status',
        deploymentId: recorded.deploymentId,
        created: recorded.created,
      },
    };
  }
}

/** A delivery whose id or signed body was processed before: nothing is done again. */
function duplicate(key: DeliveryKey): WebhookResult {
  return { httpStatus: 200, body: { status: 'duplicate', deliveryId: key.deliveryId } };
}
