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
  @IsString()
  @Matches(/^[A-Z0-9.,]{1,1000}$/, { message: 'symbols must be a comma-separated list of symbols' })
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
