import { Foundation1732200000000 } from './1732200000000-foundation.migration';
import { Chat1732300000000 } from './1732300000000-chat.migration';
import { Notifications1732400000000 } from './1732400000000-notifications.migration';
import { PriceAlerts1732500000000 } from './1732500000000-price-alerts.migration';
import { Jobs1732600000000 } from './1732600000000-jobs.migration';
import { UsersFillfactor1732700000000 } from './1732700000000-users-fillfactor.migration';
import { RoomActivity1732800000000 } from './1732800000000-room-activity.migration';
import { Calls1732900000000 } from './1732900000000-calls.migration';
import { SystemMessages1733000000000 } from './1733000000000-system-messages.migration';
import { OutsideIdentity1733050000000 } from './1733050000000-outside-identity.migration';
import { Outbox1733070000000 } from './1733070000000-outbox.migration';
import { Retention1733100000000 } from './1733100000000-retention.migration';
import { WebPush1733200000000 } from './1733200000000-web-push.migration';

/** Every migration, in order. New ones are appended here. */
export const migrations = [
  Foundation1732200000000,
  Chat1732300000000,
  Notifications1732400000000,
  PriceAlerts1732500000000,
  Jobs1732600000000,
  UsersFillfactor1732700000000,
  RoomActivity1732800000000,
  Calls1732900000000,
  SystemMessages1733000000000,
  OutsideIdentity1733050000000,
  Outbox1733070000000,
  Retention1733100000000,
  WebPush1733200000000,
];
