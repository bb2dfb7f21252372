# The operator image: TypeScript checked by tsc and bundled by esbuild into one file in a build stage
# (scripts/build.ts); the final stage holds Node 24, the production dependencies (the bundle loads
# only the database drivers and, for exec-plugin kubeconfigs, @kubernetes/client-node from them, and
# only when used) and the bundled operator, and runs as a non-root user.
# Built and run in this repository's tests with Podman: `npm run image` (see the README, "Install with Helm").
#   docker build -t flotilla:0.1.0 .
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall only fetches Node 24 for older Nodes, which this image has.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src operator/src
COPY scripts/build.ts scripts/build.ts
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=build /src/node_modules node_modules
# Same layout as the sources (operator/src/main.js beside ../../package.json, which it reads for its version).
COPY --from=build /src/dist/operator operator
USER 65532:65532
# A young generation of at most 2 × 4 MiB: V8 otherwise grows it to 2 × 64 MiB under the bursts of
# watch events and API responses of a large fleet, and the process's peak RSS with it (npm run
# bench: ~290 MiB → ~210 MiB for 200 MicroServices), for little garbage-collection time saved. The
# collector on the main thread: after a burst of work the parallel one left the process ~3× more RSS
# (README, "Analysis figures").
ENTRYPOINT ["node", "--max-semi-space-size=4", "--single-threaded-gc", "operator/src/main.js"]
CMD ["run"]
