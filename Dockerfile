# The operator image: TypeScript compiled by tsc in a build stage; the final stage holds Node 24,
# the production dependencies and the compiled operator, and runs as a non-root user.
# No Docker engine runs in this repository's CI: this file is not built there (see the README).
#   docker build -t flotilla:0.1.0 .
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall only fetches Node 24 for older Nodes, which this image has.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src operator/src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=build /src/node_modules node_modules
# Same layout as the sources (operator/src/main.js beside ../../package.json, which it reads for its version).
COPY --from=build /src/dist/operator operator
USER 65532:65532
ENTRYPOINT ["node", "operator/src/main.js"]
CMD ["run"]
