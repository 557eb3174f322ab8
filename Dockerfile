# syntax=docker/dockerfile:1

# Node 22 LTS (supported to 2027-04). package.json engines: >=20.19, which the tests also run on.
# ---- build: full install, compile TypeScript ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY src ./src
COPY packages/client ./packages/client
COPY web ./web
# The client SDK (tsdown), the service (nest build) and the web client (esbuild, with the SDK)
# into dist/, then production deps only.
RUN npm run build && npm prune --omit=dev

# ---- runtime: production dependencies and the compiled service only ----
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Run with `init: true` (compose) so PID 1 forwards SIGTERM to node and reaps children.
CMD ["node", "dist/main.js"]
