import { Backoff, connect, type ChatSocket } from '@realtime-service/client';
import { api, ApiError } from './api';
import { CallPanel } from './call';
import { ChatPanel } from './chat';
import { $, el, input, onSubmit, inBackground } from './dom';
import { NotificationPanel, type Transport } from './notifications';
import { PushPanel } from './push';
import { StocksPanel } from './stocks';

interface User {
  id: string;
  username: string;
  displayName: string;
  goalWeightKg: number | null;
}

let socket: ChatSocket | null = null;

async function start(user: User): Promise<void> {
  $('auth').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = user.displayName;
  // Same origin: the HttpOnly cookie authenticates the handshake; reconnects are automatic.
  const live = connect(location.origin, { withCredentials: true });
  socket = live;
  // Refused handshakes ("unavailable": the database is away) are not retried by Socket.IO
  // itself; retry them with a growing, jittered wait.
  const backoff = new Backoff(1000);
  socket.on('connect', () => {
    backoff.reset();
    $('conn').textContent = 'online';
    $('conn').classList.add('online');
  });
  socket.on('disconnect', () => {
    $('conn').textContent = 'reconnecting';
    $('conn').classList.remove('online');
  });
  socket.on('connect_error', (err) => {
    if (err.message === 'unauthorized') location.reload();
    else if (!live.active) setTimeout(() => live.connect(), backoff.next());
  });
  const chat = new ChatPanel(socket, user);
  const calls = new CallPanel(socket, user, (id) => chat.name(id));
  chat.onRoomOpened = (roomId) => calls.openRoom(roomId);
  await chat.loadRooms();

  const notifications = new NotificationPanel(() => socket);
  const transport = $('transport') as HTMLSelectElement;
  transport.addEventListener('change', () =>
    inBackground(notifications.start(transport.value as Transport)),
  );
  await notifications.start(transport.value as Transport);

  await new StocksPanel().start();
  await new PushPanel().start();

  if (user.goalWeightKg !== null) input('goal').value = String(user.goalWeightKg);
  onSubmit('goal-form', async () => {
    const value = input('goal').value;
    await api('/api/me/goal', {
      method: 'PUT',
      body: { goalWeightKg: value === '' ? null : Number(value) },
    });
  });
  onSubmit('weight-form', async () => {
    try {
      await api('/api/me/weights', { body: { weightKg: Number(input('weight').value) } });
      input('weight').value = '';
      await loadWeights();
    } catch (err) {
      $('weight-error').textContent = err instanceof Error ? err.message : String(err);
    }
  });
  await loadWeights();
}

async function loadWeights(): Promise<void> {
  const { items } = await api<{ items: Array<{ weightKg: number; measuredAt: string }> }>(
    '/api/me/weights?limit=10',
  );
  $('weights').replaceChildren(
    ...items.map((w) => el('li', `${w.weightKg} kg, ${new Date(w.measuredAt).toLocaleString()}`)),
  );
  $('weights-empty').hidden = items.length > 0;
}

async function authenticate(path: 'login' | 'register'): Promise<void> {
  $('auth-error').textContent = '';
  try {
    const { user } = await api<{ user: User }>(`/api/auth/${path}`, {
      body: { username: input('username').value.trim(), password: input('password').value },
    });
    await start(user);
  } catch (err) {
    $('auth-error').textContent =
      err instanceof ApiError ? err.message : 'could not reach the service';
  }
}

async function boot(): Promise<void> {
  onSubmit('auth-form', () => authenticate('login'));
  $('register').addEventListener('click', () => inBackground(authenticate('register')));
  $('logout').addEventListener('click', () => {
    inBackground(api('/api/auth/logout', { method: 'POST' }).finally(() => location.reload()));
  });
  try {
    await start(await api<User>('/api/me')); // the cookie from an earlier login
  } catch {
    // not logged in: the form is showing
  }
}

inBackground(boot());
