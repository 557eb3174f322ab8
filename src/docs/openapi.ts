import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/**
 * OpenAPI for the REST API at /docs (UI) and /docs-json (document), committed as
 * docs/openapi.json (`npm run openapi`). Socket and SSE events: docs/asyncapi.yaml.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('realtime-service')
    .setDescription(
      'Chat, notifications, stocks and reminders. Streams (SSE) are listed here too; their events and the Socket.IO events are described by docs/asyncapi.yaml (AsyncAPI 3) and docs/realtime-api.md.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addCookieAuth('access_token', { type: 'apiKey', in: 'cookie', name: 'access_token' }, 'cookie')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }, 'api-key')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
