# syntax=docker/dockerfile:1
# Build stage: dev dependencies are needed to compile (swc) and to build better-sqlite3's native addon.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json .swcrc nest-cli.json ./
COPY src ./src
COPY data ./data
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/var/lib/reglament
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/data ./data
COPY package.json ./
RUN mkdir -p /var/lib/reglament && chown node:node /var/lib/reglament
USER node
EXPOSE 3000
CMD ["node", "dist/main.js"]
