import { isUUID, length, maxLength } from 'class-validator';
import { findUnsafeText } from '../../common/safe-text';
import { parsePayload } from '../../realtime/ack';
import { MAX_SEND_BODY_CHARS, SocketSendDto } from './chat.dto';

const FIELDS = new Set(['roomId', 'body', 'clientMsgId']);

/**
 * `message:send` is the hot event: class-transformer and class-validator cost about 50 µs per
 * send in the profile, a tenth of what a send costs the instance. A payload of the usual shape is
 * checked here with the same validator functions the DTO's decorators use; anything else (a
 * missing or extra field, a wrong type, bad text) goes through the full `parsePayload`, which
 * also words the error. So this only ever accepts what the DTO accepts.
 */
export function quickSendPayload(payload: unknown): SocketSendDto | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  if (Object.getPrototypeOf(payload) !== Object.prototype) return null;
  for (const key in payload) if (!FIELDS.has(key)) return null;
  const { roomId, body, clientMsgId } = payload as Record<string, unknown>;
  if (typeof roomId !== 'string' || !isUUID(roomId, 'all')) return null;
  if (typeof body !== 'string' || !maxLength(body, MAX_SEND_BODY_CHARS)) return null;
  if (clientMsgId !== undefined && (typeof clientMsgId !== 'string' || !length(clientMsgId, 1, 64)))
    return null;
  if (
    findUnsafeText(body) !== null ||
    (clientMsgId !== undefined && findUnsafeText(clientMsgId) !== null)
  )
    return null;
  const dto = new SocketSendDto();
  dto.roomId = roomId;
  dto.body = body;
  if (clientMsgId !== undefined) dto.clientMsgId = clientMsgId;
  return dto;
}

export function parseSendPayload(payload: unknown): Promise<SocketSendDto> {
  const quick = quickSendPayload(payload);
  return quick !== null ? Promise.resolve(quick) : parsePayload(SocketSendDto, payload);
}
