import { Body, Controller, Headers, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { EventsBatchDto } from './dto/events-batch.dto';
import { IngestWebhookGuard } from './guards/ingest-webhook.guard';
import { IngestService, IngestSummary } from './ingest.service';

export class IngestSummaryView implements IngestSummary {
  @ApiProperty({ description: 'Observations in the request' }) received!: number;
  @ApiProperty({ description: 'New observations recorded (counted, or kept as notices)' }) accepted!: number;
  @ApiProperty({ description: 'Redeliveries already recorded: ignored' }) duplicates!: number;
  @ApiProperty({ description: 'Resolved and synthetic (DatasourceNoData/DatasourceError) alerts recorded as notices' })
  notices!: number;
  @ApiProperty({ description: 'Issues created by this request' }) issuesCreated!: number;
  @ApiPropertyOptional({ description: 'Loki lines that were not errors' }) skipped?: number;
}

/**
 * The receivers: Grafana/Alertmanager alert webhooks, Loki's push API and fixloop's own events
 * batch. Each answers 2xx only once what it received is committed.
 */
@ApiTags('ingest')
@Controller()
export class IngestController {
  constructor(private readonly ingest: IngestService) {}

  @Post('api/loki/webhook')
  @HttpCode(200)
  @UseGuards(IngestWebhookGuard)
  @ApiSecurity('ingest-secret')
  @ApiOperation({
    summary:
      'Grafana unified alerting (version "1") or Alertmanager (version "4") webhook. Auth: the secret as Bearer token or Basic ' +
      'password, or Grafana HMAC (X-Grafana-Alerting-Signature, optional X-Grafana-Alerting-Timestamp)',
  })
  @ApiHeader({
    name: 'X-Grafana-Alerting-Signature',
    required: false,
    description: 'hex HMAC-SHA256(secret, [timestamp + ":"] + body)',
  })
  @ApiHeader({
    name: 'X-Grafana-Alerting-Timestamp',
    required: false,
    description: 'unix seconds, signed with the body',
  })
  @ApiBody({
    schema: {
      type: 'object',
      description: 'Grafana webhook payload (version "1") or Alertmanager webhook payload (version "4")',
    },
  })
  @ApiOkResponse({ type: IngestSummaryView })
  @ApiErrorResponses(400, 401, 403, 413, 415, 503)
  webhook(@Body() body: unknown): Promise<IngestSummary> {
    return this.ingest.ingestAlertWebhook(body);
  }

  @Post('loki/api/v1/push')
  @HttpCode(204)
  @RequireScope('ingest')
  @ApiOperation({
    summary:
      'Loki push API (JSON, gzip/deflate JSON, snappy protobuf): error lines become occurrences; 204 as Loki answers',
  })
  @ApiConsumes('application/x-protobuf', 'application/json')
  @ApiBody({ schema: { type: 'object', description: 'logproto.PushRequest (snappy protobuf) or {"streams":[...]}' } })
  @ApiNoContentResponse({ description: 'Stored' })
  @ApiErrorResponses(400, 401, 403, 413, 415, 503)
  async push(
    @Body() body: unknown,
    @Headers('content-type') contentType?: string,
    @Headers('content-encoding') contentEncoding?: string,
  ): Promise<void> {
    // A raw route (RAW_BODY_ROUTES in app.factory.ts): the bytes as sent, still encoded; the Loki parser
    // handles the media type and encoding and names what it does not accept.
    await this.ingest.ingestLokiPush({
      body: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
      contentType,
      contentEncoding,
    });
  }

  @Post('api/events')
  @HttpCode(202)
  @RequireScope('ingest')
  @ApiOperation({
    summary:
      "fixloop's own error events batch: { events: [{ source, feature, message, level?, timestamp?, labels?, stack? }] }",
  })
  @ApiBody({ type: EventsBatchDto })
  @ApiAcceptedResponse({ type: IngestSummaryView, description: 'Recorded (committed) before this answer' })
  @ApiErrorResponses(400, 401, 403, 413, 415, 503)
  events(@Body() body: unknown): Promise<IngestSummary> {
    return this.ingest.ingestEvents(body);
  }
}
