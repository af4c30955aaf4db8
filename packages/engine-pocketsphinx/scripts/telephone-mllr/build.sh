#!/usr/bin/env bash
# Builds models/telephone-mllr (and models/identity-mllr): an MLLR transform that adapts the Debian
# en-us acoustic model to telephone audio as earshot's server feeds it. See models/README.md.
#
#   apt-get install sphinxtrain sphinxbase-utils pocketsphinx pocketsphinx-en-us
#   git clone https://github.com/Jakobovski/free-spoken-digit-dataset /tmp/fsdd
#   git -C /tmp/fsdd checkout 26eb9aaf76e81b692f806f9140c2d2777410d7a1
#   npm run build   # prepare.mjs uses @earshot/audio's G.711, resampler and band extension
#   packages/engine-pocketsphinx/scripts/telephone-mllr/build.sh /tmp/fsdd/recordings
#
# Steps: (1) the recordings through the server's telephone path (prepare.mjs); (2) MFCCs with the
# model's own front-end parameters (sphinx_fe); (3) the model's mixture weights from sendump, which
# bw needs (sendump-to-mixw.mjs); (4) one Baum-Welch pass of statistics for the transcripts (bw);
# (5) one global MLLR transform of the means from them (mllr_solve). Deterministic: the same inputs
# give the same file.
set -euo pipefail
recordings=${1:?usage: build.sh FSDD_RECORDINGS_DIR [OUT_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$here/../../models}
model=${EARSHOT_PS_MODEL:-/usr/share/pocketsphinx/model/en-us}
hmm=$model/en-us
sphinxtrain=/usr/lib/sphinxtrain
for tool in "$sphinxtrain/bw" "$sphinxtrain/mllr_solve" "$(command -v sphinx_fe || true)" "$(command -v pocketsphinx_mdef_convert || true)"; do
  [[ -x $tool ]] || { echo "missing a tool: apt-get install sphinxtrain sphinxbase-utils pocketsphinx" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node "$here/prepare.mjs" "$recordings" "$work/data"
mkdir -p "$work/mfc"
sphinx_fe -argfile "$hmm/feat.params" -samprate 16000 -c "$work/data/fileids" -di "$work/data/wav" -do "$work/mfc" \
  -ei wav -eo mfc -mswav yes >"$work/fe.log" 2>&1
pocketsphinx_mdef_convert -text "$hmm/mdef" "$work/mdef.txt" >/dev/null 2>&1
node "$here/sendump-to-mixw.mjs" "$hmm/sendump" "$work/mixture_weights"
mkdir -p "$work/acc"
"$sphinxtrain/bw" -moddeffn "$work/mdef.txt" -ts2cbfn .ptm. -meanfn "$hmm/means" -varfn "$hmm/variances" \
  -mixwfn "$work/mixture_weights" -tmatfn "$hmm/transition_matrices" -feat 1s_c_d_dd -svspec 0-12/13-25/26-38 \
  -cmn current -agc none -dictfn "$model/cmudict-en-us.dict" -fdictfn "$hmm/noisedict" \
  -ctlfn "$work/data/fileids" -lsnfn "$work/data/transcription" -cepdir "$work/mfc" -cepext mfc \
  -accumdir "$work/acc" >"$work/bw.log" 2>&1 || { tail -20 "$work/bw.log" >&2; exit 1; }
echo "bw: $(grep -c 'ignored' "$work/bw.log" || true) of $(wc -l <"$work/data/fileids") recordings could not be aligned (skipped)"
"$sphinxtrain/mllr_solve" -meanfn "$hmm/means" -varfn "$hmm/variances" -outmllrfn "$work/telephone-mllr" \
  -accumdir "$work/acc" >"$work/mllr.log" 2>&1 || { tail -20 "$work/mllr.log" >&2; exit 1; }
mkdir -p "$out"
cp "$work/telephone-mllr" "$out/telephone-mllr"
# The identity: 1 class, 3 streams of 13: A = I, b = 0, h = 1.
node -e '
const rows = [];
rows.push("1", "3");
for (let s = 0; s < 3; s++) {
  rows.push("13");
  for (let i = 0; i < 13; i++) rows.push(Array.from({ length: 13 }, (_, j) => (i === j ? "1.0" : "0.0")).join(" ") + " ");
  rows.push(Array(13).fill("0.0").join(" ") + " ");
  rows.push(Array(13).fill("1.0").join(" ") + " ");
}
process.stdout.write(rows.join("\n") + "\n");
' >"$out/identity-mllr"
echo "wrote $out/telephone-mllr and $out/identity-mllr"
