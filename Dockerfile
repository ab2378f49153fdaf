# vm-orchestrator as a container image (docs/DEPLOY.md), on Node 24 (NODE_IMAGE). The build stage
# builds protocol, server and web; the deps stage installs the production dependencies of every
# workspace (compiling node-pty and argon2); the runtime stage gets those two, the OpenSSH client
# and make (what jobs run), and tini as PID 1. Tested with podman (server/test/containers).
#
#   docker build -t vm-orchestrator .            # or: make image
#   docker build --build-arg VMO_UID=$(id -u) .  # the uid owning the ~/.ssh you mount
ARG NODE_IMAGE=node:24-bookworm-slim

# What compiling the native modules (node-pty, argon2) needs, and the workspaces' manifests.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 g++ make \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the headers the image ships instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY server/package.json server/
COPY web/package.json web/
# A registry reached through a TLS-inspecting proxy needs its CA: pass it as a build secret
# (`--secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt`); it is used by npm in the stages
# below and is never stored in a layer.
RUN printf '%s\n' '#!/bin/sh' \
    'if [ -s /run/secrets/npm_ca ]; then export npm_config_cafile=/run/secrets/npm_ca NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi' \
    'exec npm ci --no-audit --no-fund "$@"' > /usr/local/bin/npm-ci \
  && chmod +x /usr/local/bin/npm-ci

# Everything, to build protocol, server and web.
FROM toolchain AS build
RUN --mount=type=secret,id=npm_ca --mount=type=cache,target=/root/.npm npm-ci
COPY tsconfig.base.json ./
COPY packages/protocol packages/protocol
COPY server server
COPY web web
RUN npm run build

# Exactly the production dependencies of every workspace (the root's node_modules and each
# workspace's own, e.g. server/node_modules/yaml), compiled for this Node.
FROM toolchain AS deps
RUN --mount=type=secret,id=npm_ca --mount=type=cache,target=/root/.npm npm-ci --omit=dev

FROM ${NODE_IMAGE}
ARG VMO_UID=1000
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssh-client make tini ca-certificates \
  && rm -rf /var/lib/apt/lists/*
# The image's `node` user holds uid 1000: it becomes `vmo`, with the uid asked for.
RUN usermod --login vmo --home /home/vmo --move-home --uid ${VMO_UID} node \
  && groupmod --new-name vmo node \
  && mkdir -p /data /etc/vm-orchestrator /home/vmo/.ssh \
  && chown vmo:vmo /data /home/vmo/.ssh
WORKDIR /app
# The manifests and node_modules trees of the deps stage, then what the build made.
COPY --from=deps /app /app
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/server/dist server/dist
COPY --from=build /app/web/build web/build
COPY bin bin
# HOST=0.0.0.0 so the published port answers; the Host check still answers 421 to any Host but
# loopback and security.publicUrl, so set publicUrl when the server is reached by another name.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    VMO_DATA_DIR=/data \
    LOG_JSON=1
USER vmo
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/vm-orchestrator.js"]
