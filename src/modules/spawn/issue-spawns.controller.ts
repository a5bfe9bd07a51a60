import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { ManualSpawnDto } from './dto/spawn-admin.dto';
import { SpawnRequestView } from './dto/spawn-request.view';
import { SpawnAdminService } from './spawn-admin.service';
import { SpawnGateService } from './spawn-gate.service';

@ApiTags('spawn')
@RequireScope('admin')
@ApiErrorResponses(400, 401, 403, 404)
@Controller('api/issues')
export class IssueSpawnsController {
  constructor(
    private readonly gate: SpawnGateService,
    private readonly admin: SpawnAdminService,
  ) {}

  @Post(':identifier/spawn')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Spawn (or retry) an investigation through the gate: queued due now; kill switch, cooldown, concurrency and budget apply',
  })
  @ApiAcceptedResponse({ type: SpawnRequestView })
  @ApiErrorResponses(409)
  async spawn(@Param('identifier') identifier: string, @Body() body: ManualSpawnDto): Promise<SpawnRequestView> {
    const req = await this.gate.requestManual(identifier, {
      reason: body.reason,
      bypassCooldown: body.bypassCooldown,
      actor: body.by,
    });
    return SpawnRequestView.of(req, identifier);
  }

  @Get(':identifier/spawns')
  @ApiOperation({
    summary: "An issue's spawn history, newest attempt first, with the dispatch requests (dry runs included)",
  })
  @ApiOkResponse({ type: [SpawnRequestView] })
  spawns(@Param('identifier') identifier: string): Promise<SpawnRequestView[]> {
    return this.admin.spawnsOf(identifier);
  }
}
