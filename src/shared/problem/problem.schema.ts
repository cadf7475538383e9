/** The RFC 9457 problem as response classes, read by @nestjs/swagger for the error responses of the API document. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ProblemFieldErrorDto {
  @ApiProperty({
    description:
      'the body field (`applicant.iin`) or parameter (`query.from`, `path.caseId`, `header.If-Match`) at fault',
    example: 'query.limit',
  })
  field!: string;

  @ApiProperty({ description: 'what is wrong with it', example: 'is 0' })
  problem!: string;

  @ApiPropertyOptional({ description: 'what would be accepted', example: 'an integer from 1 to 500' })
  allowed?: string;
}

export class ProblemDto {
  @ApiProperty({
    description: 'a URI naming the kind of problem; stable, one per refusal',
    example: 'https://reglament.kz/problems/bad-request',
  })
  type!: string;

  @ApiProperty({ example: 'The request is not valid' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiPropertyOptional({ example: 'query.limit: is 0' })
  detail?: string;

  @ApiPropertyOptional({ description: 'the path of the request' })
  instance?: string;

  @ApiPropertyOptional({ type: [ProblemFieldErrorDto], description: 'one entry per field or parameter at fault' })
  errors?: ProblemFieldErrorDto[];
}
