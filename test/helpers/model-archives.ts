/**
 * Fixture model archives for the `earshot models` tests, built at test time with the system's tar
 * and bzip2 (nothing binary in git): a tiny stand-in for a sherpa-onnx release archive, plus broken
 * variants. The "weights" are deterministic pseudo-random bytes, so they do not compress and a
 * download can be cut in the middle of them.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const FIXTURE_FILES = {
  encoder: "encoder-epoch-99-avg-1.int8.onnx",
  decoder: "decoder-epoch-99-avg-1.onnx",
  joiner: "joiner-epoch-99-avg-1.int8.onnx",
  tokens: "tokens.txt",
} as const;

/** In the archive but not loaded (the fp32 twin of the encoder): a pull must not keep it. */
export const UNUSED_WEIGHTS = "encoder-epoch-99-avg-1.onnx";

export interface FixtureArchive {
  readonly path: string;
  readonly bytes: Buffer;
  readonly sha256: string;
  /** The files inside, relative to the top-level directory. */
  readonly files: ReadonlyMap<string, Buffer>;
}

export interface ArchiveVariant {
  /** Files left out of the archive. */
  readonly omit?: readonly string[];
  /** A symlink in the archive pointing outside it. */
  readonly symlink?: boolean;
  /** An entry whose name climbs out of the archive with `..`. */
  readonly dotDot?: boolean;
}

export function pseudoRandomBytes(seed: string, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < length; i++) blocks.push(createHash("sha256").update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}

/** Builds `<top>.tar.bz2` holding `<top>/…` in a new temporary directory. */
export function buildFixtureArchive(top: string, variant: ArchiveVariant = {}): FixtureArchive {
  const files = new Map<string, Buffer>([
    [FIXTURE_FILES.encoder, pseudoRandomBytes("encoder", 96_000)],
    [UNUSED_WEIGHTS, pseudoRandomBytes("encoder-fp32", 48_000)],
    [FIXTURE_FILES.decoder, pseudoRandomBytes("decoder", 16_000)],
    [FIXTURE_FILES.joiner, pseudoRandomBytes("joiner", 8_000)],
    [FIXTURE_FILES.tokens, Buffer.from("<blk> 0\n<sos/eos> 1\n<unk> 2\nA 3\nB 4\n")],
    ["bpe.vocab", Buffer.from("<blk>\t0\n▁A\t-1\n")],
    ["test_wavs/0.wav", pseudoRandomBytes("wav", 2_000)],
  ]);
  for (const omitted of variant.omit ?? []) files.delete(omitted);
  const work = mkdtempSync(join(tmpdir(), "earshot-archive-"));
  const staging = join(work, "staging");
  for (const [name, data] of files) {
    mkdirSync(dirname(join(staging, top, name)), { recursive: true });
    writeFileSync(join(staging, top, name), data);
  }
  if (variant.symlink) symlinkSync("/etc/passwd", join(staging, top, "passwd-link"));
  const path = join(work, `${top}.tar.bz2`);
  const transform = variant.dotDot
    ? ["--transform", `s,^${top}/${FIXTURE_FILES.tokens}$,${top}/../../escaped.txt,`]
    : [];
  execFileSync("tar", ["-cjf", path, ...transform, "-C", staging, top], { stdio: "ignore" });
  rmSync(staging, { recursive: true });
  const bytes = readFileSync(path);
  return { path, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), files };
}

/** A catalogue entry (for `EARSHOT_MODELS_CATALOG`) describing a fixture archive. */
export function fixtureEntry(name: string, top: string, archive?: FixtureArchive): Record<string, unknown> {
  return {
    name,
    archive: top,
    languages: ["en"],
    modelType: "zipformer",
    modelingUnit: "bpe",
    files: FIXTURE_FILES,
    ...(archive ? { archiveSha256: archive.sha256, archiveBytes: archive.bytes.length } : {}),
  };
}
