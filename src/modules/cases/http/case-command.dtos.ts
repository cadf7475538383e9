/** Request bodies of the case commands, validated at the edge with class-validator (unknown fields refused). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { STEP_DATA_ANY_OF } from './step-data.schema';
import { Optional } from '../../../shared/problem/optional';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { UNIT_ID } from '../../../shared/unit-id';
import { Checked, UnitId } from '../../../shared/http/parameter-constraints';
import { HIDDEN_CHARACTER_ALLOWED, hiddenCharacterProblem } from '../domain/case-event-data';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const INSTANT_MESSAGE = 'must be an ISO 8601 instant with an offset, e.g. 2019-07-12T18:00:00+06:00';

export class ApplicantDto {
  @ApiProperty({ example: '900502400172', description: '12 digits; the check digit is verified' })
  @IsString()
  @Matches(/^\d{12}$/, { message: 'must be 12 digits' })
  iin!: string;

  @ApiProperty({ example: 'Серикова Айгерим Болатовна' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  @Checked(hiddenCharacterProblem, HIDDEN_CHARACTER_ALLOWED)
  fullName!: string;
}

export class SubmitApplicationDto {
  @ApiProperty({ example: 'civil-service-testing' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  serviceId!: string;

  @ApiPropertyOptional({ description: 'required when the version has more than one track' })
  @Optional()
  @IsString()
  @MaxLength(100)
  trackId?: string;

  @ApiProperty({ enum: ['portal', 'psc', 'office'] })
  @IsIn(['portal', 'psc', 'office'], { message: 'must be one of portal, psc, office' })
  channel!: 'portal' | 'psc' | 'office';

  @ApiProperty({ example: 'astana', description: "the provider's unit that runs the case", pattern: UNIT_ID.source })
  @UnitId()
  unit!: string;

  @ApiProperty({ type: ApplicantDto })
  @IsObject({ message: 'must be an object { iin, fullName }' })
  @ValidateNested()
  @Type(() => ApplicantDto)
  applicant!: ApplicantDto;

  @ApiPropertyOptional({ description: 'business time of the filing; default now' })
  @Optional()
  @Matches(INSTANT, { message: INSTANT_MESSAGE })
  @IsISO8601({ strict: true }, { message: INSTANT_MESSAGE })
  occurredAt?: string;

  @ApiPropertyOptional({ description: 'when filling in began, for limits on the filing itself; default occurredAt' })
  @Optional()
  @Matches(INSTANT, { message: INSTANT_MESSAGE })
  @IsISO8601({ strict: true }, { message: INSTANT_MESSAGE })
  startedAt?: string;

  @ApiPropertyOptional({
    description:
      'the cohort\'s dates that start clocks, e.g. { "document-acceptance-end": "2015-10-01" }; set by the provider\'s staff of the unit, never by the applicant or the portal (403). A date not given here is recorded later by the step that sets it (setsCohortDate in GET /api/regulations/{versionId}), once',
  })
  @Optional()
  @IsObject({ message: 'must be an object { cohortDateId: "YYYY-MM-DD" }' })
  cohortDates?: Record<string, unknown>;
}

export class TakeStepDto {
  @ApiPropertyOptional({
    description: 'business time of the act (e.g. the date on the registration stamp); default now',
  })
  @Optional()
  @Matches(INSTANT, { message: INSTANT_MESSAGE })
  @IsISO8601({ strict: true }, { message: INSTANT_MESSAGE })
  occurredAt?: string;

  @ApiPropertyOptional({ description: "when the act began, for limits on a step's own duration; default occurredAt" })
  @Optional()
  @Matches(INSTANT, { message: INSTANT_MESSAGE })
  @IsISO8601({ strict: true }, { message: INSTANT_MESSAGE })
  startedAt?: string;

  @ApiPropertyOptional({ description: 'the revision the caller decided on; a different current revision gets 409' })
  @Optional()
  @IsInt()
  @Min(0)
  expectedRevision?: number;

  @ApiPropertyOptional({
    description:
      "the act's data, validated against the event type the step records (GET /api/regulations/{versionId} names it per step), e.g. DocumentRegistered { incomingNumber }",
    anyOf: STEP_DATA_ANY_OF as never,
    example: { incomingNumber: '01-15/1234' },
  })
  @Optional()
  @IsObject({ message: 'must be an object' })
  data?: Record<string, unknown>;
}

export class CancelApplicationDto {
  @ApiPropertyOptional()
  @Optional()
  @Matches(INSTANT, { message: INSTANT_MESSAGE })
  @IsISO8601({ strict: true }, { message: INSTANT_MESSAGE })
  occurredAt?: string;

  @ApiPropertyOptional()
  @Optional()
  @IsInt()
  @Min(0)
  expectedRevision?: number;

  @ApiPropertyOptional()
  @Optional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  reason?: string;
}
