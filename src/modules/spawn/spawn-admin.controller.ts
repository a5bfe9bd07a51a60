import { Body, Controller, Get, Patch, Put, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { BudgetQuery, KillSwitchDto, UpdateBudgetDto } from './dto/spawn-admin.dto';
import { BudgetDayView, BudgetView, KillSwitchView } from './dto/spawn-admin.view';
import { SpawnAdminService } from './spawn-admin.service';

@ApiTags('spawn')
@RequireScope('admin')
@ApiErrorResponses(400, 401, 403)
@Controller('api/spawn')
export class SpawnAdminController {
  constructor(private readonly admin: SpawnAdminService) {}

  @Get('budget')
  @ApiOperation({ summary: 'Daily spawn budget: today and the last N days, spawns and agent cost beside the budget' })
  @ApiOkResponse({ type: BudgetView })
  budget(@Query() query: BudgetQuery): Promise<BudgetView> {
    return this.admin.budget(query.days ?? 7);
  }

  @Patch('budget')
  @ApiOperation({ summary: "Set today's maximum number of spawns (later days start at DAILY_SPAWN_BUDGET)" })
  @ApiOkResponse({ type: BudgetDayView })
  setBudget(@Body() body: UpdateBudgetDto): Promise<BudgetDayView> {
    return this.admin.setTodayMax(body.maxSpawns);
  }

  @Get('kill-switch')
  @ApiOperation({ summary: 'Whether the kill switch stops new dispatches (and who set it when)' })
  @ApiOkResponse({ type: KillSwitchView })
  killSwitch(): Promise<KillSwitchView> {
    return this.admin.killSwitch();
  }

  @Put('kill-switch')
  @ApiOperation({ summary: 'Turn the kill switch on or off at run time (running investigations continue)' })
  @ApiOkResponse({ type: KillSwitchView })
  setKillSwitch(@Body() body: KillSwitchDto): Promise<KillSwitchView> {
    return this.admin.setKillSwitch(body.enabled, body.by ? `admin:${body.by}` : 'admin', body.reason);
  }
}
