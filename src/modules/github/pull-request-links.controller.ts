import { Body, Controller, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { ADMIN_ACTOR } from '../issues/issues.facade';
import { LinkPullRequestDto, LinkedPullRequestView } from './dto/link-pull-request.dto';
import { PullRequestLinksService } from './pull-request-links.service';

@ApiTags('issues')
@RequireScope('admin')
@Controller('api/issues')
export class PullRequestLinksController {
  constructor(private readonly links: PullRequestLinksService) {}

  @Post(':identifier/pull-requests')
  @ApiOperation({
    summary:
      'Link a PR to this issue by hand (method manual), e.g. one matching missed or whose author is not trusted: ' +
      'fixloop reads the PR from GitHub and the issue follows it (open -> in_review, merged into STAGING_BRANCH -> ' +
      'in_staging, then the deploy and the watch); recorded in the history with the reason',
  })
  @ApiCreatedResponse({ type: LinkedPullRequestView })
  @ApiErrorResponses(400, 401, 403, 404, 409, 503)
  link(@Param('identifier') identifier: string, @Body() body: LinkPullRequestDto): Promise<LinkedPullRequestView> {
    return this.links.link(identifier, body.pullRequest, ADMIN_ACTOR, body.reason);
  }
}
