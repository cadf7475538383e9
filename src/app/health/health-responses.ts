/**
 * Answers of the health routes as classes, read by @nestjs/swagger for the response schemas of the API document.
 * The same bodies come with 503 when not up or not ready.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

class ComponentHealthDto {
  @ApiProperty({ enum: ['up', 'down', 'degraded'] }) status!: string;
  @ApiPropertyOptional({ example: 'sqlite' }) kind?: string;
  @ApiPropertyOptional() error?: string;
}

class ProjectionHealthDto {
  @ApiProperty() name!: string;
  @ApiPropertyOptional() version?: number;
  @ApiProperty() state!: string;
  @ApiPropertyOptional() checkpoint?: number;
  @ApiPropertyOptional() lagEvents?: number;
  @ApiPropertyOptional() lagSeconds?: number;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'what stopped or delays it (the event at fault, or the store error and the attempt); null when none',
  })
  error?: Record<string, unknown> | null;
  @ApiPropertyOptional({ description: 'behind by more than PROJECTION_STALE_SECONDS' }) stale?: boolean;
}

export class HealthDto {
  @ApiProperty({ enum: ['up', 'down', 'degraded'] }) status!: string;
  @ApiProperty({ type: ComponentHealthDto }) eventLog!: ComponentHealthDto;
  @ApiProperty({ type: ComponentHealthDto }) readStore!: ComponentHealthDto;
  @ApiProperty({ type: [ProjectionHealthDto] }) projections!: ProjectionHealthDto[];
}

export class LivenessDto {
  @ApiProperty({ enum: ['up'] }) status!: 'up';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ready', 'not-ready'] }) status!: string;
  @ApiProperty({ type: [String], description: 'why not ready; empty when ready' }) reasons!: string[];
}
