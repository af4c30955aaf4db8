/**
 * The recognizers of one host process: one per model, plus a small bounded LRU of recognizers with
 * hotwords, keyed by model and key-term set. The streaming Node API takes hotwords only per
 * recognizer (createStream has no hotwords argument), so a stream with key terms needs a recognizer
 * built with exactly its terms: another copy of the model in memory, built synchronously in this
 * process (the other streams here wait meanwhile). Streams with the same terms share one.
 */

import type { HostModel } from "./host-messages.js";
import type { NativeRecognizer, NativeRecognizerConstructor } from "./native.js";
import { type RecognizerSettings, recognizerConfig } from "./recognizer-config.js";

export interface RecognizerLease {
  readonly recognizer: NativeRecognizer;
  readonly model: HostModel;
  release(): void;
}

interface KeytermEntry {
  readonly recognizer: NativeRecognizer;
  users: number;
  lastUsed: number;
}

/** A key term as a hotwords line: one space between words, no "word :score" or "#threshold" parts. */
export function hotwordLine(term: string): string {
  return term
    .split(/\s+/)
    .filter((part) => part !== "" && !part.startsWith(":") && !part.startsWith("#"))
    .join(" ");
}

export class RecognizerPool {
  readonly #Recognizer: NativeRecognizerConstructor;
  readonly #settings: RecognizerSettings;
  readonly #models = new Map<string, { readonly model: HostModel; readonly recognizer: NativeRecognizer }>();
  readonly #keyterms = new Map<string, KeytermEntry>();
  readonly #maxKeyterm: number;
  #clock = 0;

  constructor(
    Recognizer: NativeRecognizerConstructor,
    models: readonly HostModel[],
    settings: RecognizerSettings,
    maxKeyterm: number,
  ) {
    this.#Recognizer = Recognizer;
    this.#settings = settings;
    this.#maxKeyterm = maxKeyterm;
    for (const model of models) {
      const recognizer = new Recognizer(recognizerConfig(model.dir, model.spec, settings));
      this.#models.set(model.spec.name, { model, recognizer });
    }
  }

  /** Throws when the model is unknown or every key-term slot is held by open streams. */
  acquire(name: string, keyterms: readonly string[]): RecognizerLease {
    const base = this.#models.get(name);
    if (!base) throw new Error(`model ${name} is not loaded`);
    const lines = [...new Set(keyterms.map(hotwordLine).filter((line) => line !== ""))].sort();
    if (lines.length === 0) return { recognizer: base.recognizer, model: base.model, release: () => {} };
    const key = `${name}\n${lines.join("\n")}`;
    let entry = this.#keyterms.get(key);
    if (!entry) {
      this.#evictFor();
      const config = recognizerConfig(base.model.dir, base.model.spec, { ...this.#settings, hotwords: lines });
      entry = { recognizer: new this.#Recognizer(config), users: 0, lastUsed: 0 };
      this.#keyterms.set(key, entry);
    }
    const held = entry;
    held.users += 1;
    held.lastUsed = ++this.#clock;
    let released = false;
    return {
      recognizer: held.recognizer,
      model: base.model,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
      },
    };
  }

  /** Keyterm recognizers alive now (for stats). */
  get keytermRecognizers(): number {
    return this.#keyterms.size;
  }

  /** Drops the least recently used idle recognizer when full; the addon frees it once collected. */
  #evictFor(): void {
    if (this.#keyterms.size < this.#maxKeyterm) return;
    let victim: [string, KeytermEntry] | undefined;
    for (const item of this.#keyterms) {
      if (item[1].users === 0 && (!victim || item[1].lastUsed < victim[1].lastUsed)) victim = item;
    }
    if (!victim) {
      throw new Error(`all ${this.#maxKeyterm} key-term recognizers are in use by open streams; retry later`);
    }
    this.#keyterms.delete(victim[0]);
  }
}
