/** The path and query parameters of the calendar routes as DTO classes (validated by the pipe, read by swagger). */
import { ApiProperty } from '@nestjs/swagger';
import { ParameterDto } from '../../../shared/problem/validation';
import { Instant, LocalDate, Text, WholeNumber } from '../../../shared/http/parameter-constraints';

/** The most working days a deadline query may ask for (about four years). */
export const MAX_WORKING_DAYS = 1000;

@ParameterDto('path')
export class CalendarPathDto {
  @ApiProperty({ description: 'a working calendar: KZ', example: 'KZ' })
  @Text(20)
  code!: string;
}

@ParameterDto('query')
export class WorkingDaysQueryDto {
  @ApiProperty({ description: 'the first day counted (YYYY-MM-DD)', example: '2024-05-01' })
  @LocalDate()
  from!: string;

  @ApiProperty({ description: 'the last day counted (YYYY-MM-DD), not before from', example: '2024-05-31' })
  @LocalDate()
  to!: string;
}

@ParameterDto('query')
export class DeadlineQueryDto {
  @ApiProperty({
    description: 'the instant the count starts from, with its offset',
    example: '2024-05-03T10:00:00+05:00',
  })
  @Instant()
  start!: string;

  @ApiProperty({ type: 'integer', description: `working days to count, 0 to ${MAX_WORKING_DAYS}`, example: 3 })
  @WholeNumber(0, MAX_WORKING_DAYS)
  workingDays!: number;
}

class NonWorkingDayDto {
  @ApiProperty({ description: 'YYYY-MM-DD' })
  date!: string;

  @ApiProperty({ description: 'weekend, holiday, transfer, …' })
  kind!: string;

  @ApiProperty({ description: 'the Russian name' })
  name!: string;

  @ApiProperty({
    type: 'object',
    properties: { ru: { type: 'string' }, kk: { type: 'string' } },
    required: ['ru', 'kk'],
    description: 'the name in Russian and Kazakh',
  })
  names!: { ru: string; kk: string };

  @ApiProperty({ description: 'the act that made it a day off' })
  source!: string;

  @ApiProperty({ required: false, description: 'the day a transfer moved it from or to' })
  relatedDate?: string;
}

export class WorkingDaysDto {
  @ApiProperty({ example: 'KZ' })
  calendar!: string;

  @ApiProperty()
  from!: string;

  @ApiProperty()
  to!: string;

  @ApiProperty({ type: 'integer' })
  workingDays!: number;

  @ApiProperty({ type: [NonWorkingDayDto] })
  nonWorkingDays!: NonWorkingDayDto[];

  @ApiProperty({ required: false, description: 'true when the range reaches days whose holidays are not yet decreed' })
  provisional?: boolean;

  @ApiProperty({ required: false })
  provisionalFrom?: string;
}

export class DeadlineDto {
  @ApiProperty({ example: 'KZ' })
  calendar!: string;

  @ApiProperty({ description: 'the start (UTC)' })
  start!: string;

  @ApiProperty({ type: 'integer' })
  workingDays!: number;

  @ApiProperty({ description: 'the deadline (UTC)' })
  deadline!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'day by day: each day counted or skipped and why, with the Civil Code rules applied',
  })
  explanation!: Record<string, unknown>;
}
