import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ProblemError } from '../../../shared/problem/problem';
import { parseInstantParam, type ParamError } from '../../../shared/http/query-params';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { Catalog } from '../domain/catalog';
import { lintCatalog } from '../domain/lint';
import { NoVersionInForceError, resolveVersion } from '../domain/resolve-version';
import { versionDetail, versionSummary } from './regulation-views';

export const CATALOG = Symbol('CATALOG');
export const REGULATION_CALENDAR = Symbol('REGULATION_CALENDAR');

@ApiTags('regulations')
@Controller('api/regulations')
export class RegulationsController {
  constructor(
    @Inject(CATALOG) private readonly catalog: Catalog,
    @Inject(REGULATION_CALENDAR) private readonly calendar: WorkingCalendar,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Regulation versions with service, tracks and effective period; optionally of one service and/or in force at an instant' })
  @ApiQuery({ name: 'serviceId', required: false, example: 'personnel-reserve' })
  @ApiQuery({ name: 'at', required: false, example: '2015-09-01T10:00:00+06:00' })
  list(@Query('serviceId') serviceId?: string, @Query('at') atParam?: string) {
    const errors: ParamError[] = [];
    if (serviceId !== undefined && !this.catalog.byService.has(serviceId)) {
      errors.push({ field: 'query.serviceId', problem: `unknown service "${serviceId}"`, allowed: [...this.catalog.byService.keys()].join(', ') });
    }
    const at = atParam === undefined ? undefined : parseInstantParam('query.at', atParam);
    if (at && !at.ok) errors.push(at.error);
    if (errors.length > 0) throw ProblemError.badRequest(errors);
    const date = at?.ok ? this.calendar.timeZone.toLocal(at.value).date : undefined;
    const versions = this.catalog.versions
      .filter((v) => serviceId === undefined || v.serviceId === serviceId)
      .filter((v) => date === undefined || (v.effective.from <= date && (v.effective.until === null || date <= v.effective.until)))
      .sort((a, b) => a.serviceId.localeCompare(b.serviceId) || a.effective.from.localeCompare(b.effective.from));
    return { versions: versions.map(versionSummary) };
  }

  @Get('lint')
  @ApiOperation({ summary: 'Contradictions inside each regulation text, the reading applied and the one kept as alternative' })
  lint() {
    return lintCatalog(this.catalog);
  }

  @Get('resolve')
  @ApiOperation({ summary: 'The version of a service in force at an instant (Asia/Almaty date)' })
  @ApiQuery({ name: 'serviceId', example: 'academy-admission' })
  @ApiQuery({ name: 'at', example: '2019-06-01T10:00:00+06:00' })
  resolve(@Query('serviceId') serviceId?: string, @Query('at') atParam?: string) {
    const errors: ParamError[] = [];
    if (!serviceId) errors.push({ field: 'query.serviceId', problem: 'is required', allowed: [...this.catalog.byService.keys()].join(', ') });
    else if (!this.catalog.byService.has(serviceId)) errors.push({ field: 'query.serviceId', problem: `unknown service "${serviceId}"`, allowed: [...this.catalog.byService.keys()].join(', ') });
    const at = parseInstantParam('query.at', atParam);
    if (!at.ok) errors.push(at.error);
    if (errors.length > 0 || !at.ok || !serviceId) throw ProblemError.badRequest(errors);
    try {
      return versionSummary(resolveVersion(this.catalog, serviceId, at.value, this.calendar.timeZone));
    } catch (error) {
      if (error instanceof NoVersionInForceError) {
        throw new ProblemError(404, 'no-version-in-force', 'No version of the service was in force', error.message, undefined, {
          serviceId: error.serviceId,
          at: error.instant.toISOString(),
          localDate: error.localDate,
          versions: error.versions,
        });
      }
      throw error;
    }
  }

  @Get(':versionId')
  @ApiOperation({ summary: 'One regulation version, whole: steps with event types, roles, order and limits with clauses (id URL-encoded)' })
  @ApiParam({ name: 'versionId', example: 'civil-service-testing%2Forder-184-2015' })
  get(@Param('versionId') versionId: string) {
    const version = this.catalog.byId.get(versionId);
    if (!version) {
      throw ProblemError.badRequest([{ field: 'path.versionId', problem: `unknown regulation version "${versionId}"`, allowed: [...this.catalog.byId.keys()].join(', ') }]);
    }
    return versionDetail(version);
  }
}
