/** The path and query parameters of the regulation routes as DTO classes (validated by the pipe, read by swagger). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { ParameterDto } from '../../../shared/problem/validation';
import { DateOrInstant, DATE_ZONE_NOTE, Text } from '../../../shared/http/parameter-constraints';

const AT = `an instant with an offset, or a date (${DATE_ZONE_NOTE})`;

@ParameterDto('query')
export class RegulationListQueryDto {
  @ApiPropertyOptional({ description: 'a service of the catalog', example: 'personnel-reserve' })
  @IsOptional()
  @Text(100)
  serviceId?: string;

  @ApiPropertyOptional({ description: `only the versions in force then: ${AT}`, example: '2015-09-01T10:00:00+06:00' })
  @IsOptional()
  @DateOrInstant()
  at?: string;
}

@ParameterDto('query')
export class RegulationResolveQueryDto {
  @ApiProperty({ description: 'a service of the catalog', example: 'academy-admission' })
  @Text(100)
  serviceId!: string;

  @ApiProperty({ description: AT, example: '2019-06-01T10:00:00+06:00' })
  @DateOrInstant()
  at!: string;
}

@ParameterDto('path')
export class RegulationPathDto {
  @ApiProperty({ description: 'a version id (its "/" URL-encoded)', example: 'civil-service-testing%2Forder-184-2015' })
  @Text(200)
  versionId!: string;
}
