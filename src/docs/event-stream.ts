import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';

/**
 * The 200 of a streaming endpoint, Server-Sent Events (`text/event-stream`) or NDJSON
 * (`application/x-ndjson`), whose events docs/asyncapi.yaml describes (OpenAPI has no words for a
 * stream of them).
 */
export function EventStreamResponse(
  events: string,
  framing: 'sse' | 'ndjson' = 'sse',
): MethodDecorator & ClassDecorator {
  const [kind, type] =
    framing === 'sse'
      ? ['Server-Sent Events', 'text/event-stream']
      : ['NDJSON, one JSON object per line', 'application/x-ndjson'];
  return applyDecorators(
    ApiOkResponse({
      description: `${kind}: ${events} (see docs/asyncapi.yaml)`,
      content: { [type]: { schema: { type: 'string' } } },
    }),
  );
}
