import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { DeploymentsService } from './deployments.service';
import { DeploymentView, RecordDeploymentDto } from './dto/record-deployment.dto';

@ApiTags('deployments')
@Controller('api/deployments')
export class DeploymentsController {
  constructor(private readonly deployments: DeploymentsService) {}

  @Post()
  @HttpCode(200)
  @RequireScope('admin', 'agent')
  @ApiOperation({
    summary: 'Report a deploy from a pipeline that is not a GitHub deployment (idempotent)',
    description:
      'Merged PRs that the deploy carries (listed in prNumbers, or whose merge commit the deployed sha contains, ' +
      'per the GitHub compare API) are marked deployed; on PRODUCTION_ENVIRONMENT their issues move to ' +
      'in_production and verification starts.',
  })
  @ApiOkResponse({ type: DeploymentView })
  @ApiErrorResponses(400, 401, 403)
  async record(@Body() body: RecordDeploymentDto): Promise<DeploymentView> {
    const { deployment: d, created } = await this.deployments.recordFromApi(body);
    const issues = (
      (d.result?.deployedIssues as { identifier: string; from: string; moved: boolean; prs: number[] }[] | undefined) ??
      []
    ).map((i) => ({ identifier: i.identifier, from: i.from, moved: i.moved, prs: i.prs }));
    return {
      id: d.id,
      created,
      source: d.source,
      environment: d.environment,
      sha: d.sha,
      version: d.version,
      prNumbers: d.prNumbers,
      deployedAt: d.deployedAt.toISOString(),
      processedAt: d.processedAt ? d.processedAt.toISOString() : null,
      lastError: d.lastError,
      deployedIssues: issues,
    };
  }
}
