import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { ADMIN_ACTOR } from '../issues/issues.facade';
import { MergeIssueDto, MergeResultView, UnmergeIssueDto } from './dto/merge-issue.dto';
import { IssueMergeService } from './issue-merge.service';

@ApiTags('issues')
@RequireScope('admin')
@ApiErrorResponses(400, 401, 403, 404, 409)
@Controller('api/issues')
export class DedupController {
  constructor(private readonly merges: IssueMergeService) {}

  @Post(':identifier/merge')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Merge this issue into another: its fingerprints become aliases of the target, it closes, counts are summed',
  })
  @ApiOkResponse({ type: MergeResultView })
  merge(@Param('identifier') identifier: string, @Body() body: MergeIssueDto): Promise<MergeResultView> {
    return this.merges.merge(identifier, body.into, ADMIN_ACTOR, body.reason);
  }

  @Post(':identifier/unmerge')
  @HttpCode(200)
  @ApiOperation({ summary: 'Undo the merge of this issue: its fingerprints come back, it reopens to triage' })
  @ApiOkResponse({ type: MergeResultView })
  unmerge(@Param('identifier') identifier: string, @Body() body: UnmergeIssueDto): Promise<MergeResultView> {
    return this.merges.unmerge(identifier, ADMIN_ACTOR, body.reason);
  }
}
