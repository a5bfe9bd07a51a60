import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { IssueDetailView, IssuePageView } from './dto/issue.view';
import { ListIssuesQuery } from './dto/list-issues.query';
import { UpdateIssueDto } from './dto/update-issue.dto';
import { IssuesService } from './issues.service';

@ApiTags('issues')
@RequireScope('admin')
@ApiErrorResponses(400, 401, 403)
@Controller('api/issues')
export class IssuesController {
  constructor(private readonly issues: IssuesService) {}

  @Get()
  @ApiOperation({ summary: 'List issues, newest first, with filters and cursor pagination' })
  @ApiOkResponse({ type: IssuePageView })
  list(@Query() query: ListIssuesQuery): Promise<IssuePageView> {
    return this.issues.list(query);
  }

  @Get(':identifier')
  @ApiOperation({
    summary:
      'One issue by its identifier (e.g. CHIPP-42): fingerprints and grouping, recent events, agent activity, PRs, spawn history, audit history',
  })
  @ApiOkResponse({ type: IssueDetailView })
  @ApiErrorResponses(404)
  get(@Param('identifier') identifier: string): Promise<IssueDetailView> {
    return this.issues.get(identifier);
  }

  @Patch(':identifier')
  @ApiOperation({
    summary:
      'Change status (validated transition), priority, labels, title or cooldown; every change is recorded with actor admin and the reason',
  })
  @ApiOkResponse({ type: IssueDetailView })
  @ApiErrorResponses(404, 409)
  update(@Param('identifier') identifier: string, @Body() body: UpdateIssueDto): Promise<IssueDetailView> {
    return this.issues.update(identifier, body);
  }
}
