import { ApiAcceptedResponse, ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyAuth, Public } from '../auth/auth.decorators';
import { EventStreamResponse } from '../docs/event-stream';
import {
  IngestQuoteDto,
  IngestResultResponse,
  QuoteListResponse,
  QuoteResponse,
  QuoteStreamQuery,
} from './dto/stocks.dto';
import { NDJSON_FRAMING, SSE_FRAMING, type StreamFraming } from '../realtime/stream-framing';
import { releaseRoutingState } from '../realtime/request-release';
import { MAX_STREAM_SYMBOLS, SYMBOL_PATTERN } from './quote';
import { StockStreams } from './stock-streams.service';
import { StocksService } from './stocks.service';

/** A feed's clock may run a little ahead of ours; further than this is a mistake. */
const MAX_FUTURE_MS = 60_000;

@ApiTags('stocks')
@Controller('api/stocks')
export class StocksController {
  constructor(
    private readonly stocks: StocksService,
    private readonly streams: StockStreams,
  ) {}

  @Public()
  @Get()
  @ApiOkResponse({ type: QuoteListResponse })
  async list(): Promise<QuoteListResponse> {
    return { items: await this.stocks.all() };
  }

  /** Live quotes over SSE: a snapshot per symbol at once, then every new quote. No login needed. */
  @Public()
  @Get('stream')
  @EventStreamResponse('a quote event per symbol at once, then every new quote')
  stream(@Query() q: QuoteStreamQuery, @Req() req: Request, @Res() res: Response): Promise<void> {
    // A valid request is served before Express (StockStreams' stream route); this and ndjson
    // answer the rest: bad or unknown symbols, other spellings of the path, requests while draining.
    return this.openStream(q, SSE_FRAMING, req, res);
  }

  /** The same quotes as NDJSON lines (`{"type":"quote","quote":…}`), for fetch-stream readers. */
  @Public()
  @Get('ndjson')
  @EventStreamResponse('a quote line per symbol at once, then every new quote', 'ndjson')
  ndjson(@Query() q: QuoteStreamQuery, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.openStream(q, NDJSON_FRAMING, req, res);
  }

  private async openStream(
    q: QuoteStreamQuery,
    framing: StreamFraming,
    req: Request,
    res: Response,
  ): Promise<void> {
    const symbols = [...new Set(q.symbols.split(','))];
    if (symbols.some((s) => !SYMBOL_PATTERN.test(s)))
      throw new BadRequestException('symbols must be a comma-separated list of symbols');
    if (symbols.length > MAX_STREAM_SYMBOLS)
      throw new BadRequestException(`at most ${MAX_STREAM_SYMBOLS} symbols`);
    const known = new Set(await this.stocks.isKnown(symbols));
    const unknown = symbols.filter((s) => !known.has(s));
    if (unknown.length > 0) throw new BadRequestException(`unknown symbols: ${unknown.join(',')}`);
    await this.streams.open(symbols, framing, req, res);
    releaseRoutingState(req);
  }

  @Public()
  @Get(':symbol')
  @ApiOkResponse({ type: QuoteResponse })
  async get(@Param('symbol') symbol: string): Promise<QuoteResponse> {
    const quote = SYMBOL_PATTERN.test(symbol) ? await this.stocks.get(symbol) : undefined;
    if (quote === undefined) throw new NotFoundException('unknown symbol');
    return quote;
  }

  /** Ingest from a real feed. A new symbol becomes known; an older quote is accepted and ignored. */
  @ApiKeyAuth()
  @ApiSecurity('api-key')
  @Post(':symbol/quotes')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: IngestResultResponse })
  async ingest(
    @Param('symbol') symbol: string,
    @Body() dto: IngestQuoteDto,
  ): Promise<IngestResultResponse> {
    if (!SYMBOL_PATTERN.test(symbol))
      throw new BadRequestException('symbol must be 1-10 characters of A-Z, 0-9 and .');
    const ts = dto.ts === undefined ? Date.now() : Date.parse(dto.ts);
    if (Number.isNaN(ts)) throw new BadRequestException('ts must be an ISO-8601 time');
    if (ts > Date.now() + MAX_FUTURE_MS) throw new BadRequestException('ts is in the future');
    const accepted = await this.stocks.accept([{ symbol, price: dto.price, ts }]);
    return { accepted: accepted.length > 0 };
  }
}
