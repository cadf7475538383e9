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
  @ApiProperty({ description: 'the instant the count starts from, with its offset', example: '2024-05-03T10:00:00+05:00' })
  @Instant()
  start!: string;

  @ApiProperty({ type: 'integer', description: `working days to count, 0 to ${MAX_WORKING_DAYS}`, example: 3 })
  @WholeNumber(0, MAX_WORKING_DAYS)
  workingDays!: number;
}
