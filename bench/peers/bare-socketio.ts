/**
 * The bare peer: a plain Socket.IO server with the service's transport settings, authenticating
 * nothing and doing nothing per socket but joining one room. It reports its memory at /mem.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const http = createServer((req, res) => {
  if (req.url === '/mem') {
    const m = process.memoryUsage();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, sockets: io.of('/').sockets.size }));
    return;
  }
  res.statusCode = 404;
  res.end();
});
const io = new Server(http, { path: '/socket.io', maxHttpBufferSize: 64 * 1024, pingInterval: 20_000, pingTimeout: 20_000 });
io.on('connection', (socket) => {
  void socket.join(`user:${socket.id}`);
});
http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  console.log(`listening on port ${typeof address === 'object' && address !== null ? address.port : port}`);
});
