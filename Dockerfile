# syntax=docker/dockerfile:1
# Build stage: dev dependencies are needed to compile (swc) and to build better-sqlite3's native addon.
# The Node line CI runs on (20.20, what `engines` and every dependency's engines allow).
FROM node:20.20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json .swcrc nest-cli.json ./
COPY src ./src
COPY data ./data
RUN npm run build && npm prune --omit=dev

FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/var/lib/reglament
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/data ./data
COPY package.json ./
RUN install -d -m 0700 -o node -g node /var/lib/reglament
USER node
EXPOSE 3000
# Liveness only (the process answers): an orchestrator that restarts unhealthy containers must not restart one for a
# full disk or a lagging read model, which a restart does not cure; readiness is /health/ready (docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --retries=6 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
