# syntax=docker/dockerfile:1
# The earshot server image: `earshot serve` with the PocketSphinx engine (docs/operations.md,
# "Containers and Kubernetes"). Checked as text by test/deploy-manifests.test.ts; the image build
# itself is not run in CI (no Docker daemon there).
#
#   docker build -t earshot .
#   docker run -p 8787:8787 -e EARSHOT_API_KEYS=key1 earshot

# --- build: the whole workspace compiled, then the dev dependencies dropped ---
FROM node:20-bookworm AS build
WORKDIR /app
# The lockfile and every workspace's package.json first, so `npm ci` is cached while only sources change.
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY apps ./apps
COPY bench ./bench
COPY test ./test
# onnxruntime-node (the Silero VAD) ships its CPU binaries; without this its install script would
# try to download GPU extras.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# --- runtime: Node and the Debian packages the server uses, no compilers, no sources of tests ---
FROM node:20-bookworm-slim AS runtime
# From scripts/setup.sh's APT_PACKAGES, only what `earshot serve` uses: PocketSphinx and its US
# English model (loaded through koffi), ffmpeg (OpenAI uploads in mp3/ogg/flac/m4a…), bzip2
# (`earshot models pull`). Not chromium, sox, alsa-utils (tests and microphone capture only).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pocketsphinx pocketsphinx-en-us ffmpeg bzip2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
RUN ln -s /app/packages/cli/bin/earshot.js /usr/local/bin/earshot
ENV NODE_ENV=production \
    EARSHOT_MODELS_DIR=/models
RUN mkdir -p /models && chown 1000:1000 /models
# The image's `node` user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000:1000
EXPOSE 8787
# Liveness only (the process serves HTTP); readiness (`/readyz`) is the load balancer's business.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# API keys from EARSHOT_API_KEYS (required off loopback), the cluster from EARSHOT_REDIS_URL.
ENTRYPOINT ["earshot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8787"]
