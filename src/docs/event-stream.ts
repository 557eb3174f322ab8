import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';

/**
 * The 200 of a Server-Sent Events endpoint: a `text/event-stream` body whose events
 * docs/asyncapi.yaml describes (OpenAPI has no words for a stream of them).
 */
export function EventStreamResponse(events: string): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiOkResponse({
      description: `Server-Sent Events: ${events} (see docs/asyncapi.yaml)`,
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    }),
  );
}
