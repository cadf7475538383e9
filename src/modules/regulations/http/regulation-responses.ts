/** Answers of the regulation routes as classes, read by @nestjs/swagger for the API document (built in regulation-views.ts). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

class RegulationLabelDto {
  @ApiProperty({ type: String, nullable: true, description: 'Russian' })
  ru!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Kazakh' })
  kk!: string | null;
}

class RegistrationDto {
  @ApiProperty()
  number!: string;

  @ApiPropertyOptional({ description: 'YYYY-MM-DD' })
  date?: string;
}

class RegulationActDto {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  title!: string;

  @ApiProperty()
  number!: string;

  @ApiProperty({ description: 'YYYY-MM-DD' })
  date!: string;

  @ApiProperty({ type: RegistrationDto, nullable: true, description: "the act's state registration" })
  registration!: RegistrationDto | null;

  @ApiProperty({ description: 'the appendix of the act that is this regulation' })
  appendix!: number;
}

class TrackDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ type: RegulationLabelDto })
  label!: RegulationLabelDto;
}

class EffectiveDto {
  @ApiProperty({ description: 'the first day in force (YYYY-MM-DD, Asia/Almaty)' })
  from!: string;

  @ApiProperty({ type: String, nullable: true, description: 'the last day in force, or null' })
  until!: string | null;

  @ApiProperty({ description: 'how the dates were read from the act' })
  reading!: string;

  @ApiProperty()
  source!: string;
}

class RepealDto {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  title!: string;

  @ApiProperty()
  date!: string;

  @ApiPropertyOptional()
  note?: string;

  @ApiPropertyOptional()
  effectiveFrom?: string;
}

export class RegulationSummaryDto {
  @ApiProperty({ example: 'personnel-reserve/order-184-2015' })
  regulationVersionId!: string;

  @ApiProperty({ deprecated: true, description: 'the same as regulationVersionId (kept for existing clients)' })
  versionId!: string;

  @ApiProperty({ example: 'personnel-reserve' })
  serviceId!: string;

  @ApiProperty({ type: RegulationLabelDto })
  title!: RegulationLabelDto;

  @ApiProperty({ type: RegulationActDto })
  act!: RegulationActDto;

  @ApiProperty({ type: [TrackDto] })
  tracks!: TrackDto[];

  @ApiProperty({ type: EffectiveDto })
  effective!: EffectiveDto;

  @ApiProperty({ type: RepealDto, nullable: true })
  repealedBy!: RepealDto | null;
}

export class RegulationListDto {
  @ApiProperty({ type: [RegulationSummaryDto] })
  versions!: RegulationSummaryDto[];
}

class RegulationStepDto {
  @ApiProperty({ example: 'documents-registered' })
  id!: string;

  @ApiProperty({ type: RegulationLabelDto })
  label!: RegulationLabelDto;

  @ApiProperty({ description: 'the event a step records; its data schema is in TakeStepDto.data' })
  eventType!: string;

  @ApiProperty({ type: [String] })
  roles!: string[];

  @ApiProperty({ type: [String], description: 'the steps it follows' })
  after!: string[];

  @ApiProperty()
  optional!: boolean;

  @ApiPropertyOptional({
    type: [String],
    description: 'the steps it waits for: it is not open while one of them is due in the case and not done',
  })
  waitsFor?: string[];

  @ApiPropertyOptional({
    type: [String],
    description: 'the steps that end its chance: it may be recorded only until one of them is done',
  })
  until?: string[];

  @ApiPropertyOptional({
    type: 'object',
    properties: { step: { type: 'string' }, limit: { type: 'string' } },
    description:
      'the period it has its place in, a limit of a step: it may be recorded only before that limit’s deadline in the case (422 period-ended after it)',
  })
  withinPeriod?: { step: string; limit: string };

  @ApiPropertyOptional({
    description:
      'the cohort date the step records after the filing (its act CohortDateRecorded { date }), once: e.g. the end of document acceptance a portal filing cannot give',
  })
  setsCohortDate?: string;

  @ApiProperty()
  terminal!: boolean;

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'its limits, each with its clause and the reading applied',
  })
  limits!: Record<string, unknown>[];
}

export class RegulationDetailDto {
  @ApiProperty({ example: 'personnel-reserve/order-184-2015' })
  regulationVersionId!: string;

  @ApiProperty({ deprecated: true, description: 'the same as regulationVersionId (kept for existing clients)' })
  versionId!: string;

  @ApiProperty()
  serviceId!: string;

  @ApiProperty({ type: RegulationLabelDto })
  title!: RegulationLabelDto;

  @ApiProperty({ type: [RegulationStepDto] })
  steps!: RegulationStepDto[];

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description:
      "the channels the service is offered through, in the regulation's (the law's) words, each with its label (ru, kk, en) and requestedChannel: the channel a filing names to use it (portal | psc | office)",
  })
  channels!: Record<string, unknown>[];

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'the roles of the regulation, each with its label',
  })
  roles!: Record<string, unknown>[];
}

class LimitReadingDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the limit as the regulation sets it' })
  spec!: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the clause it comes from' })
  clause!: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'where the two readings count from different starts: the start this one counts from',
  })
  anchor?: Record<string, unknown>;
}

class ContradictionDto {
  @ApiProperty() stepId!: string;
  @ApiProperty() limitId!: string;
  @ApiProperty({ type: LimitReadingDto }) applied!: LimitReadingDto;
  @ApiProperty({ type: LimitReadingDto }) alternative!: LimitReadingDto;
  @ApiProperty({ enum: ['stricter-applied', 'looser-applied-with-reason', 'not-comparable-with-reason'] })
  rule!: string;
  @ApiPropertyOptional() appliedReason?: string;
}

class LintFindingDto {
  @ApiProperty({ enum: ['error', 'warning', 'info'] }) severity!: string;
  @ApiProperty() path!: string;
  @ApiProperty() message!: string;
}

class VersionLintDto {
  @ApiProperty() versionId!: string;
  @ApiProperty() file!: string;
  @ApiProperty({ type: [ContradictionDto] }) contradictions!: ContradictionDto[];
  @ApiProperty({ type: [LintFindingDto] }) findings!: LintFindingDto[];
  @ApiProperty() labelsNeedingTranslation!: number;
  @ApiProperty({ description: "Kazakh labels that are working translations, not the act's own words" })
  kazakhTranslations!: number;
}

export class LintReportDto {
  @ApiProperty({ type: [VersionLintDto] }) versions!: VersionLintDto[];
  @ApiProperty({ description: 'findings of severity error, in every version' }) errors!: number;
}
