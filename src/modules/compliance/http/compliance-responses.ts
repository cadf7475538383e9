/**
 * Answers of the compliance routes as classes, read by @nestjs/swagger for the response schemas of the API
 * document. The values are built in compliance.queries.ts and the controller; these describe them.
 */
import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import {
  ClauseCitationDto,
  ClauseRefDto,
  RuKkLabelDto,
  StalenessDto,
  TimeLeftDto,
} from '../../../shared/http/common-responses';
import { DURATION_UNITS } from '../domain/durations';
import { GROUP_BY } from '../domain/rollup';

class SummaryFiltersDto {
  @ApiProperty({ type: String, nullable: true }) serviceId!: string | null;
  @ApiProperty({ type: String, nullable: true }) versionId!: string | null;
  @ApiProperty({ type: String, nullable: true }) trackId!: string | null;
  @ApiProperty({ type: String, nullable: true }) unit!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'first month counted (YYYY-MM)' }) from!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'last month counted (YYYY-MM)' }) to!: string | null;
}

class DurationPercentilesDto {
  @ApiProperty() count!: number;
  @ApiProperty({ type: Number, nullable: true }) p50!: number | null;
  @ApiProperty({ type: Number, nullable: true }) p90!: number | null;
}

class DurationsByUnitDto {
  @ApiPropertyOptional({ type: DurationPercentilesDto }) minutes?: DurationPercentilesDto;
  @ApiPropertyOptional({ type: DurationPercentilesDto, name: 'working-hours' }) workingHours?: DurationPercentilesDto;
  @ApiPropertyOptional({ type: DurationPercentilesDto, name: 'calendar-days' }) calendarDays?: DurationPercentilesDto;
}

class SummaryLabelDto extends RuKkLabelDto {
  @ApiPropertyOptional() en?: string;
}

class SummaryRowDto {
  @ApiProperty({ description: 'the group: a service, version, step, unit, channel or month id' }) key!: string;
  @ApiProperty() total!: number;
  @ApiProperty() met!: number;
  @ApiProperty() breached!: number;
  @ApiProperty() open!: number;
  @ApiProperty() overdue!: number;
  @ApiProperty({ description: 'rows of steps that never became due in their case' }) notApplicable!: number;
  @ApiProperty({
    description:
      'rows of due steps whose clock cannot start: the date it counts from (e.g. the end of document acceptance a portal filing cannot give) is not recorded in their case; outside total and the rate, counted in the month the case was filed',
  })
  waiting!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'met / (met + breached + overdue)' })
  complianceRate!: number | null;
  @ApiProperty({ type: Number, nullable: true }) durationP50!: number | null;
  @ApiProperty({ type: Number, nullable: true }) durationP90!: number | null;
  @ApiProperty({ enum: [...DURATION_UNITS], nullable: true }) durationUnit!: string | null;
  @ApiProperty({ type: DurationsByUnitDto }) durations!: DurationsByUnitDto;
  @ApiPropertyOptional({ type: SummaryLabelDto }) label?: SummaryLabelDto;
  @ApiPropertyOptional({
    enum: ['portal', 'psc', 'office'],
    nullable: true,
    description: 'groupBy=channel: the word POST /api/cases uses for this channel',
  })
  requestedChannel?: string | null;
}

export class ComplianceSummaryDto {
  @ApiProperty({ enum: [...GROUP_BY] }) groupBy!: string;
  @ApiProperty({ type: SummaryFiltersDto }) filters!: SummaryFiltersDto;
  @ApiProperty() total!: number;
  @ApiProperty() asOf!: string;
  @ApiProperty() durationUnits!: string;
  @ApiProperty({ type: [SummaryRowDto] }) rows!: SummaryRowDto[];
  @ApiProperty({ type: StalenessDto }) staleness!: StalenessDto;
}

class OpenRowDto {
  @ApiProperty() caseId!: string;
  @ApiProperty() receiptNumber!: string;
  @ApiProperty() serviceId!: string;
  @ApiProperty() versionId!: string;
  @ApiProperty() unit!: string;
  @ApiProperty({ type: String, nullable: true }) assignee!: string | null;
  @ApiProperty() stepId!: string;
  @ApiProperty() limitId!: string;
  @ApiProperty({ type: RuKkLabelDto, nullable: true }) label!: RuKkLabelDto | null;
  @ApiProperty({ type: [String] }) roles!: string[];
  @ApiProperty({
    type: 'array',
    // A role outside the regulation's own has no label: its item is null.
    items: { type: 'object', nullable: true, allOf: [{ $ref: getSchemaPath(RuKkLabelDto) }] },
    description: 'one per role, null for a role without a label',
  })
  roleLabels!: (RuKkLabelDto | null)[];
  @ApiProperty({ type: ClauseRefDto }) clause!: ClauseRefDto;
  @ApiProperty({ type: ClauseCitationDto }) citation!: ClauseCitationDto;
  @ApiProperty() startedAt!: string;
  @ApiProperty({ type: String, nullable: true }) deadline!: string | null;
}

class UrgencyFieldsDto extends OpenRowDto {
  @ApiProperty() dueToday!: boolean;
  @ApiProperty() atRisk!: boolean;
  @ApiProperty({ type: Number, nullable: true, description: 'the warning share passed (0.5, 0.8)' })
  threshold!: number | null;
  @ApiProperty({ type: TimeLeftDto, nullable: true }) timeLeft!: TimeLeftDto | null;
}

class OverdueRowDto extends OpenRowDto {
  @ApiProperty() trackId!: string;
  @ApiProperty() overdueMinutes!: number;
}

class PageDto {
  @ApiProperty({ type: StalenessDto }) staleness!: StalenessDto;
  @ApiProperty() asOf!: string;
  @ApiProperty({ description: 'rows matching, of every page' }) total!: number;
  @ApiProperty() offset!: number;
  @ApiProperty() limit!: number;
}

export class OverduePageDto extends PageDto {
  @ApiProperty({ type: [OverdueRowDto] }) rows!: OverdueRowDto[];
}

export class AtRiskPageDto extends PageDto {
  @ApiProperty({ type: [UrgencyFieldsDto] }) rows!: UrgencyFieldsDto[];
}

class StepCaseRowDto {
  @ApiProperty() limitId!: string;
  @ApiProperty() startedAt!: string;
  @ApiProperty({ type: String, nullable: true }) deadline!: string | null;
  @ApiProperty({ type: String, nullable: true }) completedAt!: string | null;
  @ApiProperty({ description: 'open, overdue, met or breached at asOf' }) status!: string;
}

class StepCaseDto {
  @ApiProperty() caseId!: string;
  @ApiProperty() receiptNumber!: string;
  @ApiProperty() status!: string;
  @ApiProperty() unit!: string;
  @ApiProperty() submittedAt!: string;
  @ApiProperty({ type: [StepCaseRowDto] }) rows!: StepCaseRowDto[];
}

export class StepCasesPageDto extends PageDto {
  @ApiProperty({ type: [StepCaseDto] }) cases!: StepCaseDto[];
}

class WorklistCountsDto {
  @ApiProperty() dueToday!: number;
  @ApiProperty() atRisk!: number;
  @ApiProperty() overdue!: number;
}

class WorklistLimitDto {
  @ApiProperty() limitId!: string;
  @ApiProperty({ type: String, nullable: true }) deadline!: string | null;
  @ApiProperty({ type: ClauseRefDto }) clause!: ClauseRefDto;
  @ApiPropertyOptional() kind?: string;
  @ApiPropertyOptional() startedAt?: string;
  @ApiPropertyOptional({ description: 'when the step opened; the at-risk share of the window counts from here' })
  opensAt?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'set when the clock cannot start yet: the date it counts from (its anchor, e.g. { cohortDate: "document-acceptance-end" }) is not recorded in the case; no deadline until it is',
  })
  waitingFor?: Record<string, unknown>;
  @ApiProperty({ type: ClauseCitationDto }) citation!: ClauseCitationDto;
}

class WorklistItemDto {
  @ApiProperty() caseId!: string;
  @ApiProperty() receiptNumber!: string;
  @ApiProperty() serviceId!: string;
  @ApiProperty() versionId!: string;
  @ApiProperty() trackId!: string;
  @ApiProperty() unit!: string;
  @ApiProperty() stepId!: string;
  @ApiProperty({ type: RuKkLabelDto }) label!: RuKkLabelDto;
  @ApiProperty() optional!: boolean;
  @ApiProperty({ type: [String] }) roles!: string[];
  @ApiProperty({ type: ClauseRefDto }) clause!: ClauseRefDto;
  @ApiProperty({ type: ClauseCitationDto }) citation!: ClauseCitationDto;
  @ApiProperty({ type: String, nullable: true }) deadline!: string | null;
  @ApiProperty({ type: Number, nullable: true }) minutesLeft!: number | null;
  @ApiProperty() overdue!: boolean;
  @ApiProperty() dueToday!: boolean;
  @ApiProperty() atRisk!: boolean;
  @ApiProperty({ type: Number, nullable: true }) threshold!: number | null;
  @ApiProperty({ type: TimeLeftDto, nullable: true }) timeLeft!: TimeLeftDto | null;
  @ApiProperty({ type: [WorklistLimitDto] }) limits!: WorklistLimitDto[];
}

export class WorklistDto {
  @ApiProperty({ type: StalenessDto }) staleness!: StalenessDto;
  @ApiProperty() total!: number;
  @ApiProperty({ type: WorklistCountsDto }) counts!: WorklistCountsDto;
  @ApiProperty({ type: [WorklistItemDto] }) items!: WorklistItemDto[];
}
