import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { IssueDetailView, IssuePageView } from './dto/issue.view';
import { ListIssuesQuery } from './dto/list-issues.query';
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
  @ApiOperation({ summary: 'One issue by its identifier (e.g. CHIPP-42), with its audit history' })
  @ApiOkResponse({ type: IssueDetailView })
  @ApiErrorResponses(404)
  get(@Param('identifier') identifier: string): Promise<IssueDetailView> {
    return this.issues.get(identifier);
  }
}

