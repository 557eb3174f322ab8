import { ApiProperty } from '@nestjs/swagger';
import type { AlertView } from '../alerts/alerts.views';
import { SYMBOL_LIST_PATTERN, type Quote } from '../quote';
import { IsIn, IsISO8601, IsNumber, IsOptional, IsString, Matches, Max } from 'class-validator';
import { IsPositive } from 'class-validator';

const SYMBOL_MESSAGE = 'symbol must be 1-10 characters of A-Z, 0-9 and .';

export class IngestQuoteDto {
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1e12)
  price!: number;

  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  ts?: string;
}

export class QuoteStreamQuery {
  // The pattern spelled out for the OpenAPI document (the plugin reads only a regex literal).
  @ApiProperty({ pattern: SYMBOL_LIST_PATTERN.source })
  @IsString()
  @Matches(SYMBOL_LIST_PATTERN, { message: 'symbols must be a comma-separated list of symbols' })
  symbols!: string;
}

export class CreateAlertDto {
  @IsString()
  @Matches(/^[A-Z0-9.]{1,10}$/, { message: SYMBOL_MESSAGE })
  symbol!: string;

  @IsIn(['above', 'below'])
  direction!: 'above' | 'below';

  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1e12)
  price!: number;
}

// Responses: the views as classes, so OpenAPI describes them.

export class QuoteResponse implements Quote {
  symbol!: string;
  price!: number;
  /** Against the symbol's first quote of the current UTC day. */
  change!: number;
  changePct!: number;
  ts!: string;
}

export class QuoteListResponse {
  /** The latest quote per symbol. */
  items!: QuoteResponse[];
}

export class IngestResultResponse {
  /** false: older than the symbol's latest quote (accepted and ignored). */
  accepted!: boolean;
}

export class AlertResponse implements AlertView {
  id!: string;
  symbol!: string;
  @ApiProperty({ enum: ['above', 'below'] })
  direction!: 'above' | 'below';
  price!: number;
  /** false once it fired. */
  active!: boolean;
  @ApiProperty({ type: String, nullable: true })
  triggeredAt!: string | null;
}

export class AlertListResponse {
  items!: AlertResponse[];
}
