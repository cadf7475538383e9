import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { LintReportDto, RegulationDetailDto, RegulationListDto, RegulationSummaryDto } from './regulation-responses';
import { ProblemError, type ProblemFieldError } from '../../../shared/problem/problem';
import { isLocalDate } from '../../../shared/http/parameter-constraints';
import { RegulationListQueryDto, RegulationPathDto, RegulationResolveQueryDto } from './regulations.dtos';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { Catalog } from '../domain/catalog';
import { lintCatalog } from '../domain/lint';
import { NoVersionInForceError, resolveVersion } from '../domain/resolve-version';
import { versionDetail, versionSummary } from './regulation-views';

export const CATALOG = Symbol('CATALOG');
export const REGULATION_CALENDAR = Symbol('REGULATION_CALENDAR');
type ParamError = ProblemFieldError;

@ApiTags('regulations')
@Controller('api/regulations')
export class RegulationsController {
  constructor(
    @Inject(CATALOG) private readonly catalog: Catalog,
    @Inject(REGULATION_CALENDAR) private readonly calendar: WorkingCalendar,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Regulation versions with service, tracks and effective period; optionally of one service and/or in force at an instant',
  })
  @ApiOkResponse({ type: RegulationListDto, description: 'The versions, by service and start date' })
  list(@Query() query: RegulationListQueryDto) {
    const { serviceId, at } = query;
    const errors: ParamError[] = [];
    if (serviceId !== undefined && !this.catalog.byService.has(serviceId)) {
      errors.push({
        field: 'query.serviceId',
        problem: `unknown service "${serviceId}"`,
        allowed: [...this.catalog.byService.keys()].join(', '),
      });
    }
    if (errors.length > 0) throw ProblemError.badRequest(errors);
    const date = at === undefined ? undefined : this.localDate(at);
    const versions = this.catalog.versions
      .filter((v) => serviceId === undefined || v.serviceId === serviceId)
      .filter(
        (v) =>
          date === undefined || (v.effective.from <= date && (v.effective.until === null || date <= v.effective.until)),
      )
      .sort((a, b) => a.serviceId.localeCompare(b.serviceId) || a.effective.from.localeCompare(b.effective.from));
    return { versions: versions.map(versionSummary) };
  }

  @Get('lint')
  @ApiOperation({
    summary: 'Contradictions inside each regulation text, the reading applied and the one kept as alternative',
  })
  @ApiOkResponse({ type: LintReportDto, description: 'Each version with its contradictions and findings' })
  lint() {
    return lintCatalog(this.catalog);
  }

  @Get('resolve')
  @ApiOperation({ summary: 'The version of a service in force at an instant (Asia/Almaty date)' })
  @ApiOkResponse({ type: RegulationSummaryDto, description: 'The version in force' })
  resolve(@Query() query: RegulationResolveQueryDto) {
    const { serviceId } = query;
    if (!this.catalog.byService.has(serviceId))
      throw ProblemError.badRequest([
        {
          field: 'query.serviceId',
          problem: `unknown service "${serviceId}"`,
          allowed: [...this.catalog.byService.keys()].join(', '),
        },
      ]);
    // A bare date is that day in the calendar's zone: its start is in force on it as any instant of it.
    const at = isLocalDate(query.at) ? this.calendar.timeZone.toInstant(query.at) : new Date(query.at);
    try {
      return versionSummary(resolveVersion(this.catalog, serviceId, at, this.calendar.timeZone));
    } catch (error) {
      if (error instanceof NoVersionInForceError) {
        throw new ProblemError(
          404,
          'no-version-in-force',
          'No version of the service was in force',
          error.message,
          undefined,
          {
            serviceId: error.serviceId,
            at: error.instant.toISOString(),
            localDate: error.localDate,
            versions: error.versions,
          },
        );
      }
      throw error;
    }
  }

  @Get(':versionId')
  @ApiOperation({
    summary:
      'One regulation version, whole: steps with event types, roles, order and limits with clauses (id URL-encoded)',
  })
  @ApiOkResponse({
    type: RegulationDetailDto,
    description: 'The version, whole (more members than listed here: the regulation file as loaded)',
  })
  get(@Param() { versionId }: RegulationPathDto) {
    const version = this.catalog.byId.get(versionId);
    if (!version) {
      throw ProblemError.badRequest([
        {
          field: 'path.versionId',
          problem: `unknown regulation version "${versionId}"`,
          allowed: [...this.catalog.byId.keys()].join(', '),
        },
      ]);
    }
    return versionDetail(version);
  }

  /** The calendar date of an instant, or the date itself (a date means that day in the calendar's zone). */
  private localDate(at: string): string {
    return isLocalDate(at) ? at : this.calendar.timeZone.toLocal(new Date(at)).date;
  }
}
