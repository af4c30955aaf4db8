/**
 * earshot's transcripts as AssemblyAI `Turn`s. An earshot segment is a turn: its partials are
 * `Turn`s with `end_of_turn: false`, and its final is the `Turn` with `end_of_turn: true`, after
 * which `turn_order` moves on. earshot's partials are whole-utterance hypotheses the engine may still
 * revise, so their words come with `word_is_final: false` and `transcript` (AssemblyAI's finalized
 * words) stays "" until the turn ends. earshot has no end-of-turn model: `end_of_turn_confidence` is
 * 1 on the turn's end and 0 before. With `format_turns`, each ended turn is sent a second time with
 * `turn_is_formatted: true`: spoken numbers as digits (earshot's numerals), a capital first letter
 * and a full stop (the engines give no punctuation of their own).
 */
import type { AaiTurn, AaiWord, TranscriptMessage, Word } from "@earshot/protocol";
import { withNumerals } from "../../transcript-text/numerals.js";

export class AaiTurns {
  #turnOrder = 0;
  /** A partial of the current turn went out: its end must go out too, even with no words. */
  #turnOpen = false;
  /** Changed by `UpdateConfiguration`. */
  formatTurns: boolean;

  constructor(formatTurns: boolean) {
    this.formatTurns = formatTurns;
  }

  /** The turns a transcript becomes (none for an empty final of a turn never shown). */
  from(message: TranscriptMessage): AaiTurn[] {
    const words = message.words ?? [];
    if (!message.is_final) {
      this.#turnOpen = true;
      return [this.#turn(false, "", aaiWords(words, false))];
    }
    const shown = this.#turnOpen || message.text !== "";
    this.#turnOpen = false;
    if (!shown) return [];
    const turns = [this.#turn(true, message.text, aaiWords(words, true))];
    if (this.formatTurns) {
      const formatted = formatWords(words);
      const text = formatted.length > 0 ? formatted.map((word) => word.text).join(" ") : formatText(message.text);
      turns.push({ ...this.#turn(true, text, formatted), turn_is_formatted: true });
    }
    this.#turnOrder += 1;
    return turns;
  }

  #turn(endOfTurn: boolean, transcript: string, words: AaiWord[]): AaiTurn {
    return {
      type: "Turn",
      turn_order: this.#turnOrder,
      turn_is_formatted: false,
      end_of_turn: endOfTurn,
      transcript,
      end_of_turn_confidence: endOfTurn ? 1 : 0,
      words,
      utterance: endOfTurn ? transcript : "",
    };
  }
}

function aaiWords(words: readonly Word[], final: boolean): AaiWord[] {
  return words.map((word) => ({
    start: Math.round(word.start_ms),
    end: Math.round(word.end_ms),
    text: word.word,
    confidence: word.confidence,
    word_is_final: final,
  }));
}

/** The formatted turn's words: numerals, a capital first letter, a full stop after the last. */
function formatWords(words: readonly Word[]): AaiWord[] {
  const formatted = aaiWords(withNumerals(words), true);
  const first = formatted[0];
  const last = formatted.at(-1);
  if (first) first.text = capitalized(first.text);
  if (last) last.text = `${last.text}.`;
  return formatted;
}

/** For a transcript without word timestamps. */
function formatText(text: string): string {
  return text === "" ? "" : `${capitalized(text)}.`;
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
