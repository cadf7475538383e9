/**
 * Answers of the case routes as classes, read by @nestjs/swagger for the response schemas of the API document (a
 * client generated from it types each answer). The values are built in queries/case-views.ts; these describe them.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ClauseCitationDto } from '../../../shared/http/common-responses';

const CASE_ID_EXAMPLE = '0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01';
const VERSION_DESCRIPTION =
  'the regulation version the case runs under; the same id as GET /api/regulations/{versionId}';

export class LabelDto {
  @ApiProperty({ type: String, nullable: true, description: 'Russian' })
  ru!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Kazakh' })
  kk!: string | null;
}

class CaseAnswerDto {
  @ApiProperty({ example: CASE_ID_EXAMPLE })
  caseId!: string;

  @ApiProperty({
    description: "the case's revision after this act (its count of events); send it as If-Match or expectedRevision",
    example: 1,
  })
  revision!: number;

  @ApiProperty({ description: 'the log position of the act; pass it as `after` to a read to see it', example: 42 })
  position!: number;
}

export class CaseFiledDto extends CaseAnswerDto {
  @ApiProperty({ description: VERSION_DESCRIPTION, example: 'personnel-reserve@2019-07-12' })
  regulationVersionId!: string;

  @ApiProperty({ description: "the applicant's receipt number", example: 'AST-2015-000001' })
  receiptNumber!: string;
}

export class StepTakenDto extends CaseAnswerDto {
  @ApiProperty({ example: 'documents-registered' })
  stepId!: string;

  @ApiProperty({ description: 'the event recorded', example: 'DocumentsRegistered' })
  eventType!: string;
}

export class CaseApplicantDto {
  @ApiProperty({
    description: 'masked (8801******23) unless the caller is the applicant, staff of the unit, or audits',
  })
  iin!: string;

  @ApiProperty()
  iinMasked!: boolean;

  @ApiProperty()
  fullName!: string;
}

class CaseResultDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ enum: ['positive', 'negative'] })
  kind!: 'positive' | 'negative';
}

class CaseResultViewDto extends CaseResultDto {
  @ApiProperty({ type: LabelDto, nullable: true })
  label!: LabelDto | null;
}

class CaseServiceDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ type: LabelDto })
  title!: LabelDto;
}

/** The act a case's version rests on, as the case view shows it (the regulations routes describe the act in full). */
class CaseRegulationActDto {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  number!: string;

  @ApiProperty({ description: 'YYYY-MM-DD' })
  date!: string;
}

class CaseVersionDto {
  @ApiProperty({ description: `${VERSION_DESCRIPTION} (also regulationVersionId)` })
  id!: string;

  @ApiProperty({ type: CaseRegulationActDto })
  act!: CaseRegulationActDto;
}

class IdLabelDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ type: LabelDto, nullable: true })
  label!: LabelDto | null;
}

class CaseChannelDto extends IdLabelDto {
  @ApiProperty({
    enum: ['portal', 'psc', 'office'],
    description:
      'the channel as the filing named it (POST /api/cases channel); the case runs on the regulation channel `id` it maps to',
  })
  requested!: string;
}

class ActorDto {
  @ApiProperty({
    description:
      "who acted, as their token named them; `applicant` for the case's applicant acting on their own case, whom the act names by no subject of theirs",
  })
  id!: string;

  @ApiProperty({ description: "their name as their token gave it; `Applicant` for the case's applicant" })
  name!: string;

  @ApiProperty()
  role!: string;
}

class CaseActDto {
  @ApiProperty()
  revision!: number;

  @ApiProperty()
  stepId!: string;

  @ApiProperty({ type: LabelDto, nullable: true })
  stepLabel!: LabelDto | null;

  @ApiProperty()
  eventType!: string;

  @ApiProperty({ type: LabelDto, nullable: true })
  eventLabel!: LabelDto | null;

  @ApiProperty({ type: ActorDto })
  actor!: ActorDto;

  @ApiProperty({ description: 'business time of the act' })
  occurredAt!: string;

  @ApiProperty({ description: 'when it was recorded' })
  recordedAt!: string;

  @ApiProperty()
  backDated!: boolean;
}

class DeadlineAlternativeDto {
  @ApiProperty()
  kind!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'set where this reading counts from another act or date than the applied one',
  })
  anchor?: Record<string, unknown>;

  @ApiProperty({ type: Object, nullable: true })
  clause!: Record<string, unknown> | null;

  @ApiProperty({ type: ClauseCitationDto, nullable: true })
  citation!: ClauseCitationDto | null;

  @ApiProperty({ type: String, nullable: true })
  deadline!: string | null;

  @ApiProperty({
    description: 'open, overdue, met, breached, not-applicable, waiting (for the date its clock counts from)',
  })
  status!: string;
}

class WaitingForDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'the anchor the clock counts from, e.g. { cohortDate: "document-acceptance-end" }',
  })
  anchor!: Record<string, unknown>;

  @ApiProperty({ type: LabelDto, nullable: true })
  label!: LabelDto | null;
}

class OpenDeadlineDto extends DeadlineAlternativeDto {
  @ApiProperty()
  limitId!: string;

  @ApiProperty({ type: String, nullable: true, description: 'null while the clock waits for its date (waitingFor)' })
  startedAt!: string | null;

  @ApiPropertyOptional({
    type: WaitingForDto,
    description: 'status waiting: the date the clock counts from, not recorded in the case yet',
  })
  waitingFor?: WaitingForDto;

  @ApiPropertyOptional({
    type: DeadlineAlternativeDto,
    description: 'the other reading where the regulation contradicts itself',
  })
  alternative?: DeadlineAlternativeDto;
}

class OpenStepDto {
  @ApiProperty()
  stepId!: string;

  @ApiProperty({ type: LabelDto })
  label!: LabelDto;

  @ApiProperty()
  eventType!: string;

  @ApiProperty({ type: LabelDto, nullable: true })
  eventLabel!: LabelDto | null;

  @ApiProperty({ type: [IdLabelDto], description: 'the roles that may take it' })
  roles!: IdLabelDto[];

  @ApiProperty()
  requiresAll!: boolean;

  @ApiProperty({ type: [String] })
  signedBy!: string[];

  @ApiProperty()
  optional!: boolean;

  @ApiProperty({ type: [OpenDeadlineDto] })
  deadlines!: OpenDeadlineDto[];
}

export class CaseViewDto {
  @ApiProperty({ example: CASE_ID_EXAMPLE })
  caseId!: string;

  @ApiProperty()
  receiptNumber!: string;

  @ApiProperty({ description: VERSION_DESCRIPTION })
  regulationVersionId!: string;

  @ApiProperty({ type: CaseServiceDto })
  service!: CaseServiceDto;

  @ApiProperty({ type: CaseVersionDto })
  version!: CaseVersionDto;

  @ApiProperty({ type: IdLabelDto })
  track!: IdLabelDto;

  @ApiProperty({ type: CaseChannelDto })
  channel!: CaseChannelDto;

  @ApiProperty()
  unit!: string;

  @ApiProperty({ enum: ['open', 'completed', 'refused', 'cancelled'] })
  status!: 'open' | 'completed' | 'refused' | 'cancelled';

  @ApiProperty({ type: CaseResultViewDto, nullable: true })
  result!: CaseResultViewDto | null;

  @ApiProperty()
  submittedAt!: string;

  @ApiProperty({ type: String, nullable: true })
  closedAt!: string | null;

  @ApiProperty({ type: CaseApplicantDto })
  applicant!: CaseApplicantDto;

  @ApiProperty({ type: String, nullable: true })
  assignee!: string | null;

  @ApiProperty({ description: 'also the ETag of this answer' })
  revision!: number;

  @ApiProperty({ type: [CaseActDto] })
  acts!: CaseActDto[];

  @ApiProperty({ type: [OpenStepDto] })
  openSteps!: OpenStepDto[];

  @ApiProperty({ type: [String], description: 'the step ids the caller may take now' })
  callerMayTake!: string[];

  @ApiPropertyOptional({ description: 'why the SLA could not be computed' })
  slaProblem?: string;

  @ApiProperty({ description: 'the log position of the last event of the case' })
  lastPosition!: number;

  @ApiProperty({ description: 'the log position the read model reflected when read' })
  position!: number;
}

export class CaseRowDto {
  @ApiProperty({ example: CASE_ID_EXAMPLE })
  caseId!: string;

  @ApiProperty()
  receiptNumber!: string;

  @ApiProperty()
  serviceId!: string;

  @ApiProperty({ description: VERSION_DESCRIPTION })
  regulationVersionId!: string;

  @ApiProperty({ deprecated: true, description: 'the same as regulationVersionId (kept for existing clients)' })
  versionId!: string;

  @ApiProperty()
  trackId!: string;

  @ApiProperty({
    description:
      "the regulation's channel the case runs on (e.g. portal, psc, provider-registry; GET /api/regulations/{versionId} names them)",
  })
  channel!: string;

  @ApiProperty()
  unit!: string;

  @ApiProperty({ enum: ['open', 'completed', 'refused', 'cancelled'] })
  status!: string;

  @ApiProperty({ type: CaseResultDto, nullable: true })
  result!: CaseResultDto | null;

  @ApiProperty({ type: CaseApplicantDto })
  applicant!: CaseApplicantDto;

  @ApiProperty({ type: String, nullable: true })
  assignee!: string | null;

  @ApiProperty()
  submittedAt!: string;

  @ApiProperty({ type: String, nullable: true })
  closedAt!: string | null;

  @ApiProperty()
  revision!: number;

  @ApiProperty()
  lastPosition!: number;
}

export class CaseListDto {
  @ApiProperty({ type: [CaseRowDto] })
  cases!: CaseRowDto[];

  @ApiProperty()
  limit!: number;

  @ApiProperty({ type: String, nullable: true, description: 'pass as `cursor` for the next page; null on the last' })
  nextCursor!: string | null;

  @ApiProperty()
  position!: number;
}

class SlaAlternativeDto extends DeadlineAlternativeDto {
  @ApiProperty({ type: Object })
  spec!: Record<string, unknown>;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: "set with anchor: the instant the other reading's clock started (null while its date is not known)",
  })
  startedAt?: string | null;
}

export class SlaRowDto {
  @ApiProperty()
  stepId!: string;

  @ApiProperty({ type: LabelDto, nullable: true })
  stepLabel!: LabelDto | null;

  @ApiProperty()
  limitId!: string;

  @ApiProperty({ type: Object })
  clause!: Record<string, unknown>;

  @ApiProperty({ type: ClauseCitationDto })
  citation!: ClauseCitationDto;

  @ApiProperty()
  kind!: string;

  @ApiProperty({ type: Object, description: "the limit's parameters as the regulation gives them" })
  spec!: Record<string, unknown>;

  @ApiProperty({ type: Object, nullable: true })
  anchor!: Record<string, unknown> | null;

  @ApiProperty({ type: String, nullable: true })
  startedAt!: string | null;

  @ApiProperty({ type: String, nullable: true })
  deadline!: string | null;

  @ApiPropertyOptional()
  opensAt?: string;

  @ApiProperty({ type: String, nullable: true })
  completedAt!: string | null;

  @ApiProperty({
    description:
      'met, breached, open, overdue, not-applicable, waiting (for the date its clock counts from: waitingFor)',
  })
  status!: string;

  @ApiPropertyOptional({
    type: WaitingForDto,
    description:
      'status waiting: the date the clock counts from, not recorded in the case yet; no deadline until it is',
  })
  waitingFor?: WaitingForDto;

  @ApiPropertyOptional({
    enum: [true],
    description:
      "true where the limit counts from an act's own start that the act has not recorded (not done yet, or done without startedAt): startedAt is then the other reading's start, the end of the act before, the earliest the act can have started",
  })
  startNotRecorded?: true;

  @ApiProperty({ type: SlaAlternativeDto, nullable: true })
  alternative!: SlaAlternativeDto | null;
}

export class CaseSlaDto {
  @ApiProperty()
  caseId!: string;

  @ApiProperty({ description: 'the instant the rows are computed at (UTC)' })
  asOf!: string;

  @ApiProperty({ enum: ['open', 'completed', 'refused', 'cancelled'] })
  caseStatus!: string;

  @ApiProperty({ type: [SlaRowDto] })
  rows!: SlaRowDto[];

  @ApiProperty()
  position!: number;
}
