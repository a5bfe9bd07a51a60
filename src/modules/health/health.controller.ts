import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { HealthView } from './health.view';
import { HealthService } from './health.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Liveness and capabilities (no auth): database, pgvector, kill switch, version' })
  @ApiOkResponse({ type: HealthView })
  @ApiResponse({ status: 503, description: 'The database does not answer', type: HealthView })
  async get(@Res({ passthrough: true }) res: FastifyReply): Promise<HealthView> {
    const view = await this.health.check();
    if (view.status !== 'ok') res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return view;
  }
}
