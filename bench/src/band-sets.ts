/**
 * The audio `npm run bench:band` measures, as 8 kHz PCM off a G.711 decoder:
 *
 * - `eval`: the telephone copy of the eval set, made with sox (test/fixtures/eval/en-8k-mulaw).
 * - `other`: transcribed English speech on the machine that is not in the eval set, from Debian
 *   packages (install them with `apt-get install pocketsphinx-testdata sphinxtrain`): the two
 *   LibriVox utterances and the card clip the eval set left out (same speakers as eval clips, other
 *   words), a TIDIGITS-style digit string, and TIMIT's SA1 from sphinxtrain's tests (a speaker the
 *   eval set does not have).
 * - `synthetic`: sentences of a call-centre kind written for this bench, spoken by flite's four
 *   16 kHz voices (`apt-get install flite`): many words and four voices, none of them in the eval
 *   set, but synthetic speech.
 *
 * The 16 kHz sets go to 8 kHz μ-law with the SDK's own encoder (`createWireEncoder("mulaw")`), as a
 * client sending `encoding: "mulaw"` would, and are decoded as the server decodes them.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatPcm, mulawDecode, readWav, toMono16k } from "@earshot/audio";
import { createWireEncoder } from "@earshot/client";
import { loadMulaw, loadTelephoneSet } from "@earshot/test-support";

export interface BandClip {
  readonly id: string;
  readonly text: string;
  /** 8 kHz PCM as the server's G.711 decoder has it. */
  readonly pcm8k: Int16Array;
  /** The 16 kHz original, for sets that have one. */
  readonly pcm16k?: Int16Array;
}

export interface BandSet {
  readonly name: string;
  readonly description: string;
  readonly clips: readonly BandClip[];
  /** Why the set is empty, when it is. */
  readonly missing?: string;
}

const PS_DATA = "/usr/share/pocketsphinx/test/data";
const SPHINXTRAIN_TEST = "/usr/lib/x86_64-linux-gnu/sphinxtrain/python/cmusphinx/test";

/** Debian's transcribed English speech that is not in ../shared/eval, with the transcripts shipped beside it. */
const OTHER_SPEECH: readonly { id: string; path: string; text: string }[] = [
  {
    id: "ps-librivox-0890",
    path: `${PS_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0890.wav`,
    text: "unless to be rather cold hearted and rather selfish is to be ill disposed",
  },
  {
    id: "ps-librivox-0930",
    path: `${PS_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0930.wav`,
    text: "he might even have been made amiable himself",
  },
  { id: "ps-cards-004", path: `${PS_DATA}/cards/004.wav`, text: "five five" },
  { id: "ps-tidigits-dhd-2934z", path: `${PS_DATA}/tidigits/dhd.2934z.raw`, text: "two nine three four zero" },
  {
    id: "sphinxtrain-sa1",
    path: `${SPHINXTRAIN_TEST}/sa1.wav`,
    text: "she had your dark suit in greasy wash water all year",
  },
];

/** Written for this bench: words a call centre hears, none from the eval set's sentences. */
const SENTENCES: readonly string[] = [
  "i would like to check the balance on my account",
  "my card was declined at the store this morning",
  "can you tell me when my order will arrive",
  "i need to change the address on my bill",
  "the internet has been down since last night",
  "please cancel my subscription at the end of the month",
  "i was charged twice for the same payment",
  "could you send me a copy of the receipt",
  "my phone number is the same as before",
  "i want to speak to someone about a refund",
  "the package was left at the wrong house",
  "how long will it take to fix the problem",
  "i forgot my password and cannot log in",
  "thank you for your help have a good day",
  "the new plan costs more than the old one",
  "can i pay the rest of the bill next week",
];
const FLITE_VOICES = ["slt", "rms", "awb", "kal16"] as const;

function toMulawPcm8k(pcm16k: Int16Array): Int16Array {
  const encoder = createWireEncoder("mulaw");
  const bytes = [...encoder.encode(pcm16k), ...encoder.flush()];
  encoder.close();
  return mulawDecode(Buffer.concat(bytes));
}

function read16k(path: string): Int16Array {
  if (path.endsWith(".raw")) {
    const bytes = readFileSync(path);
    return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  const wav = readWav(readFileSync(path), { output: "int16" });
  return wav.sampleRate === 16_000 && wav.channels === 1
    ? (wav.samples[0] as Int16Array)
    : toMono16k({ sampleRate: wav.sampleRate, channels: wav.samples });
}

function fromPcm16k(id: string, text: string, pcm16k: Int16Array): BandClip {
  return { id, text, pcm8k: toMulawPcm8k(pcm16k), pcm16k };
}

export function evalSet(): BandSet {
  return {
    name: "eval: en-8k-mulaw",
    description: "the eval set's telephone copy, made with sox (test/fixtures/eval/en-8k-mulaw)",
    clips: loadTelephoneSet().map((file) => ({
      id: file.id,
      text: file.text,
      pcm8k: mulawDecode(loadMulaw(file.path)),
    })),
  };
}

export function otherSpeechSet(): BandSet {
  const present = OTHER_SPEECH.filter((clip) => existsSync(clip.path));
  const missing = OTHER_SPEECH.length - present.length;
  return {
    name: "other speech (Debian)",
    description: "pocketsphinx-testdata and sphinxtrain clips outside the eval set, μ-law by the SDK",
    clips: present.map((clip) => fromPcm16k(clip.id, clip.text, read16k(clip.path))),
    ...(missing > 0 ? { missing: `${missing} clips missing: apt-get install pocketsphinx-testdata sphinxtrain` } : {}),
  };
}

/** flite's voices reading SENTENCES, made once into a cache directory. */
export function syntheticSet(): BandSet {
  const dir = join(tmpdir(), "earshot-bench-band-flite");
  mkdirSync(dir, { recursive: true });
  const clips: BandClip[] = [];
  try {
    for (const voice of FLITE_VOICES) {
      SENTENCES.forEach((text, i) => {
        const path = join(dir, `${voice}-${i}.wav`);
        if (!existsSync(path)) execFileSync("flite", ["-voice", voice, "-t", text, "-o", path]);
        // Half a second of silence either side, as in a recorded utterance.
        const pad = new Int16Array(8000);
        clips.push(fromPcm16k(`flite-${voice}-${i}`, text, concatPcm(pad, read16k(path), pad)));
      });
    }
  } catch (error) {
    return { name: "synthetic (flite)", description: "", clips: [], missing: `flite failed: ${String(error)}` };
  }
  return {
    name: "synthetic (flite)",
    description: `${SENTENCES.length} sentences × flite voices ${FLITE_VOICES.join(", ")}, μ-law by the SDK`,
    clips,
  };
}
