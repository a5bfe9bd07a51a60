import { Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { GithubWebhookService } from './github-webhook.service';

@ApiTags('github')
@Controller('api/github')
export class GithubWebhookController {
  constructor(private readonly webhooks: GithubWebhookService) {}

  /** No API key: authenticated by the signature over the raw body. */
  @Post('webhook')
  @HttpCode(200)
  @ApiOperation({
    summary: 'GitHub webhook (pull_request, workflow_run, deployment_status, ping), verified by X-Hub-Signature-256',
    description:
      'Signed with GITHUB_WEBHOOK_SECRET over the raw body; exactly-once by X-GitHub-Delivery and by the signed body ' +
      '(a redelivery, or the same body under another delivery id, answers `duplicate`). Unknown events and ' +
      'irrelevant actions answer 202 and change nothing.',
  })
  @ApiHeader({ name: 'X-Hub-Signature-256', required: true, description: 'sha256=<hex HMAC-SHA256(secret, raw body)>' })
  @ApiHeader({ name: 'X-GitHub-Event', required: true })
  @ApiHeader({
    name: 'X-GitHub-Delivery',
    required: true,
    description: "Delivery GUID, used for idempotency: 1 to 128 letters, digits, '-', '_', '.' or ':' (otherwise 400)",
  })
  @ApiOkResponse({ description: 'Processed, duplicate, or pong' })
  @ApiAcceptedResponse({ description: 'Ignored: an event or action fixloop does not act on' })
  @ApiErrorResponses(400, 401, 415, 503)
  async receive(
    @Req() req: RawBodyRequest<FastifyRequest>,
    @Res({ passthrough: true }) res: FastifyReply,
    @Headers('x-github-event') event: string | undefined,
    @Headers('x-github-delivery') deliveryId: string | undefined,
    @Headers('x-hub-signature-256') signature256: string | undefined,
  ): Promise<Record<string, unknown>> {
    const result = await this.webhooks.receive({ event, deliveryId, signature256, rawBody: req.rawBody });
    res.status(result.httpStatus);
    return result.body;
  }
}
