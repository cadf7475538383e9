/** The body of an erasure, validated at the edge (unknown fields refused). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { Optional } from '../../../shared/problem/optional';

/**
 * At least three letters or digits: the basis and the reference are recorded trimmed, for good, and neither white space
 * nor invisible characters (zero-width spaces survive a trim) state a legal ground.
 */
const SOME_TEXT = /^(?:[^\p{L}\p{N}]*[\p{L}\p{N}]){3}/u;
const SOME_TEXT_MESSAGE = 'must hold at least 3 letters or digits (not only spaces or invisible characters)';

export class EraseSubjectDto {
  @ApiPropertyOptional({
    example: '900502400172',
    description: 'the data subject by IIN; or subjectId (from the retention report)',
  })
  @Optional()
  @IsString()
  @Matches(/^\d{12}$/, { message: 'must be 12 digits' })
  iin?: string;

  @ApiPropertyOptional({ description: 'the data subject by its key-store id' })
  @Optional()
  @IsUUID()
  subjectId?: string;

  @ApiProperty({
    example: 'retention period ended',
    description: 'the legal ground, recorded with the erasure; name no person in it',
  })
  @IsString()
  @IsNotEmpty()
  @MinLength(3)
  @MaxLength(2000)
  @Matches(SOME_TEXT, { message: SOME_TEXT_MESSAGE })
  basis!: string;

  @ApiProperty({ example: 'Law No. 94-V of 21 May 2013, art. 12' })
  @IsString()
  @MinLength(3)
  @MaxLength(500)
  @Matches(SOME_TEXT, { message: SOME_TEXT_MESSAGE })
  reference!: string;
}
