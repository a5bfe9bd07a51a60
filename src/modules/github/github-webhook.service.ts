import { Inject, Injectable, Logger } from '@nestjs/common';
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
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
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
 * GitHub webhooks: signature first (nothing is read or written before it), then exactly-once by
 * `X-GitHub-Delivery`: the delivery row is inserted in the same transaction as the event's effects,
 * so a redelivery is recognised and a failed one can be redelivered. Events are emitted after commit.
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
          return await this.ping(d.deliveryId, body);
        case 'pull_request':
          return await this.pullRequest(d.deliveryId, body);
        case 'workflow_run':
          return await this.workflowRun(d.deliveryId, body);
        case 'deployment_status':
          return await this.deploymentStatus(d.deliveryId, body);
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

  private async ping(deliveryId: string, p: JsonObject): Promise<WebhookResult> {
    await this.dataSource.transaction((m) => this.deliveries.claim(m, deliveryId, 'ping', null));
    return {
      httpStatus: 200,
      body: {
        status: 'pong',
        zen: typeof p.zen === 'string' ? p.zen : null,
        hookId: typeof p.hook_id === 'number' ? p.hook_id : null,
      },
    };
  }

  private async pullRequest(deliveryId: string, payload: unknown): Promise<WebhookResult> {
    const { action, pr } = readPullRequest(payload);
    if (!PR_ACTIONS.has(action)) {
      return {
        httpStatus: 202,
        body: { status: 'ignored', event: 'pull_request', action, reason: `action ${action} does not change a fix` },
      };
    }
    if (await this.deliveries.seen(deliveryId)) return duplicate(deliveryId);
    // Matching may call an embedding service or an LLM: done before the transaction opens.
    const prepared = await this.matching.prepare(action, pr);
    const result = await this.dataSource.transaction(async (m) => {
      if (!(await this.deliveries.claim(m, deliveryId, 'pull_request', action))) return null;
      return this.matching.applyPullRequestEvent(m, action, pr, prepared, deliveryId);
    });
    if (!result) return duplicate(deliveryId);
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

  private async workflowRun(deliveryId: string, payload: unknown): Promise<WebhookResult> {
    const { action, run } = readWorkflowRun(payload);
    const claimed = await this.dataSource.transaction((m) =>
      this.deliveries.claim(m, deliveryId, 'workflow_run', action),
    );
    if (!claimed) return duplicate(deliveryId);
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

  private async deploymentStatus(deliveryId: string, payload: unknown): Promise<WebhookResult> {
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
      if (!(await this.deliveries.claim(m, deliveryId, 'deployment_status', facts.state))) return null;
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
    if (!recorded) return duplicate(deliveryId);
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

function duplicate(deliveryId: string): WebhookResult {
  return { httpStatus: 200, body: { status: 'duplicate', deliveryId } };
}
