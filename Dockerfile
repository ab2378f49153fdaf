# vm-orchestrator as a container image (docs/DEPLOY.md). Two stages: the build stage compiles the
# native modules (node-pty, argon2) and builds protocol, server and web; the runtime stage gets
# production dependencies only, the OpenSSH client and make (what jobs run), and tini as PID 1.
#
#   docker build -t vm-orchestrator .            # or: make image
#   docker build --build-arg VMO_UID=$(id -u) .  # the uid owning the ~/.ssh you mount
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 g++ make \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the headers the image ships instead of downloading them.
ENV npm_config_nodedir=/usr/local
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY server/package.json server/
COPY web/package.json web/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/protocol packages/protocol
COPY server server
COPY web web
COPY bin bin
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund

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
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/protocol/package.json packages/protocol/
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/server/package.json server/
COPY --from=build /app/server/dist server/dist
COPY --from=build /app/web/package.json web/
COPY --from=build /app/web/build web/build
COPY --from=build /app/bin bin
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
