import { TEST_API_KEY } from './env';
import { http } from './http';

export interface PublishBody {
  userIds: string[];
  kind?: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  dedupeKey?: string;
}

/** Publishes through the service API, as another service would. */
export async function publish(
  baseUrl: string,
  body: PublishBody,
): Promise<{ created: number; duplicates: number; unknown: number }> {
  const res = await http<{ created: number; duplicates: number; unknown: number }>(
    baseUrl,
    '/api/notifications',
    {
      apiKey: TEST_API_KEY,
      body: { kind: 'system', title: 'title', body: 'body', ...body },
    },
  );
  if (res.status !== 202) throw new Error(`publish failed: ${res.status} ${res.text}`);
  return res.body;
}
