#!/usr/bin/env bash
# Installs everything earshot needs on Debian (12+) with Node >= 20: system packages, npm
# dependencies from the lockfile, and the build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  pocketsphinx pocketsphinx-en-us libpocketsphinx-dev # the embedded speech engine
  sox alsa-utils                                       # microphone capture for `earshot mic`
  ffmpeg                                               # `earshot transcribe` of mp3/ogg/flac/m4a…; a third capture backend
  python3-websockets                                   # ../shared/tools/seed-check, the seed protocol client
  chromium                                             # the demo page's browser test (playwright-core drives it)
  bzip2                                                # `earshot models pull` unpacks .tar.bz2 model archives
  redis-server haproxy                                 # `earshot serve --redis` cluster state; the load balancer in front (deploy/)
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node >= 20 is required (found $(node --version))" >&2
  exit 1
fi

# onnxruntime-node (the Silero VAD) ships its CPU binaries in the package; without this its install
# script would try to download GPU extras from nuget.org. Nothing is downloaded at install time.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
echo "setup: done" >&2
