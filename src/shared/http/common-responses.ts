/**
 * Members many answers share, as classes @nestjs/swagger reads for the API document's response schemas: the
 * staleness stamp of a read model, a clause of the law and its citation, a bilingual label.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class StalenessDto {
  @ApiProperty({ description: 'the last log position the read model reflects', example: 42 })
  position!: number;

  @ApiProperty({ type: String, nullable: true, description: 'when the event at that position was recorded' })
  at!: string | null;
}

export class ClauseRefDto {
  @ApiProperty({ example: 'order-184-2015' })
  act!: string;

  @ApiPropertyOptional()
  appendix?: number;

  @ApiProperty({ description: 'пункт' })
  paragraph!: number;

  @ApiPropertyOptional({ description: 'подпункт' })
  subparagraph?: number;

  @ApiPropertyOptional()
  track?: string;

  @ApiPropertyOptional({ description: 'the words of the regulation this comes from, short' })
  quote?: string;
}

export class ClauseCitationDto {
  @ApiProperty({ example: 'приказ 184, прил. 2, п. 5, пп. 1' })
  ru!: string;

  @ApiProperty({ example: '184 бұйрық, 2-қосымша, 5-т., 1) тт.' })
  kk!: string;

  @ApiProperty({ example: 'order 184, app. 2, p. 5, sub-p. 1' })
  en!: string;
}

export class RuKkLabelDto {
  @ApiProperty({ type: String, nullable: true, description: 'Russian' })
  ru!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Kazakh' })
  kk!: string | null;
}

export class TimeLeftDto {
  @ApiProperty({ enum: ['minutes', 'working-hours', 'calendar-days'] })
  unit!: 'minutes' | 'working-hours' | 'calendar-days';

  @ApiProperty()
  value!: number;
}
