import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { NotFoundException, type INestApplication } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { toErrorBody } from './http-exception.filter';

/**
 * The operator endpoints: the Prometheus scrape and the server API. Case-insensitive like
 * Express's routing, so `/METRICS` is the same route.
 */
export const OPERATOR_PATH = /^\/(metrics|api\/admin)(\/|$)/i;

/** Requests that came in through the ADMIN_PORT listener (the same Express app behind both). */
const viaAdminPort = new WeakSet<IncomingMessage>();

/**
 * With ADMIN_PORT set, the operator endpoints answer only on that port and that port answers
 * only them (and /health, for probes): a public port that is exposed by mistake still has no
 * /metrics or /api/admin. Without ADMIN_PORT every route is on PORT, as before.
 */
export function adminPortGate(adminPort: number | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (adminPort === undefined || req.path.startsWith('/health/')) return next();
    if (OPERATOR_PATH.test(req.path) === viaAdminPort.has(req)) return next();
    const body = toErrorBody(new NotFoundException(`Cannot ${req.method} ${req.path}`));
    res.status(body.statusCode).json(body);
  };
}

/** A second HTTP listener on ADMIN_PORT over the same Express app (no Socket.IO on it). */
export async function listenAdminPort(app: INestApplication, port: number): Promise<Server> {
  const express = app.getHttpAdapter().getInstance() as (
    req: IncomingMessage,
    res: ServerResponse,
  ) => void;
  const server = createServer((req, res) => {
    viaAdminPort.add(req);
    express(req, res);
  });
  server.listen(port);
  await once(server, 'listening');
  return server;
}
