import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { ActivityResultView, AgentActivityDto, AgentStatusDto, CallbackResultView } from './dto/agent-callback.dto';
import { InvestigationLifecycleService } from './investigation-lifecycle.service';

/** Called by the auto-investigate workflow (secret CHIPP_ISSUES_API_KEY = AGENT_API_KEY). */
@ApiTags('agent')
@RequireScope('agent', 'admin')
@ApiErrorResponses(400, 401, 403, 404, 409)
@Controller('api/agent/issues')
export class AgentCallbacksController {
  constructor(private readonly lifecycle: InvestigationLifecycleService) {}

  @Post(':identifier/status')
  @HttpCode(200)
  @ApiOperation({ summary: 'Report an investigation running, completed or failed (idempotent), with summary and cost' })
  @ApiOkResponse({ type: CallbackResultView })
  status(@Param('identifier') identifier: string, @Body() body: AgentStatusDto): Promise<CallbackResultView> {
    return this.lifecycle.agentStatus(identifier, body);
  }

  @Post(':identifier/activity')
  @HttpCode(200)
  @ApiOperation({ summary: "Record a step of the agent's work (also a heartbeat for the timeout)" })
  @ApiOkResponse({ type: ActivityResultView })
  activity(@Param('identifier') identifier: string, @Body() body: AgentActivityDto): Promise<ActivityResultView> {
    return this.lifecycle.agentActivity(identifier, body);
  }
}
