import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServerMessage, TranscriptMessage } from "@earshot/protocol";
import { holdsCardNumber, isSsn, luhnValid, type RedactKind } from "./redaction.js";
import {
  CARDS,
  chunks,
  digitByDigit,
  inPairs,
  timedFinals,
  withCheckDigit,
  withDoubles,
} from "./spoken-forms.test.helper.js";
import { numberSpans } from "./spoken-numbers.js";
import { TranscriptText } from "./transcript-text.js";

/** The finals `TranscriptText` sends for finals of `texts` (then the stream ends). */
function finalsFor(texts: readonly (readonly string[])[], redact: RedactKind[], numerals = false): TranscriptMessage[] {
  const text = new TranscriptText({ numerals, redact }, () => 0);
  const out: ServerMessage[] = [];
  for (const final of timedFinals(texts)) out.push(...text.final(final));
  out.push(...text.flush());
  return out.filter((m): m is TranscriptMessage => m.type === "transcript");
}

const textOf = (finals: readonly TranscriptMessage[]) => finals.map((f) => f.text).join(" | ");

/** No digit and no spoken number, in text or words. */
function assertNoNumbers(final: TranscriptMessage): void {
  const words = final.words?.map((w) => w.word) ?? [];
  for (const tokens of [final.text.split(" "), words]) {
    assert.equal(numberSpans(tokens).length, 0, `a number in ${JSON.stringify(final.text)}`);
    assert.ok(!tokens.some((t) => /\d/.test(t)), `a digit in ${JSON.stringify(final.text)}`);
  }
}

/** The ways a card number is read aloud, as finals. */
const FORMS: Record<string, (card: string) => string[][]> = {
  "digit by digit": (c) => [["my", "card", "number", "is", ...digitByDigit(c)]],
  "digit by digit with oh for zero": (c) => [[...digitByDigit(c, "oh"), "thanks"]],
  "in groups of four with hesitations": (c) => [
    chunks(c, 4).flatMap((group, i) => (i === 0 ? digitByDigit(group) : ["uh", ...digitByDigit(group)])),
  ],
  "in pairs": (c) => [["its", ...inPairs(c)]],
  "with doubles": (c) => [withDoubles(c)],
  "as digits an engine wrote": (c) => [["card", ...chunks(c, 4)]],
  "split over two finals at the middle": (c) => {
    const half = Math.floor(c.length / 2);
    return [
      ["card", ...digitByDigit(c.slice(0, half))],
      [...digitByDigit(c.slice(half)), "okay"],
    ];
  },
  "split over two finals after four digits, in pairs": (c) => [inPairs(c.slice(0, 4)), inPairs(c.slice(4))],
  "split over three finals": (c) => [
    digitByDigit(c.slice(0, 4)),
    ["um", ...digitByDigit(c.slice(4, 10))],
    [...digitByDigit(c.slice(10)), "that's", "it"],
  ],
  "then expiry and CVV in later finals": (c) => [
    ["card", ...digitByDigit(c)],
    ["expiry", "oh", "four", "twenty", "seven"],
    ["and", "the", "code", "is", "one", "two", "three"],
  ],
  "with the CVV read straight on": (c) => [[...digitByDigit(c), "seven", "three", "one"]],
};

describe("redact pci: spoken card numbers", () => {
  it("the test cards are valid, 13 to 19 digits", () => {
    for (const card of CARDS) assert.ok(luhnValid(card) && card.length >= 13 && card.length <= 19, card);
    assert.deepEqual([...new Set(CARDS.map((c) => c.length))].sort(), [13, 14, 15, 16, 19]);
  });

  for (const [form, read] of Object.entries(FORMS)) {
    for (const card of CARDS) {
      it(`${form}: ${card}`, () => {
        const spoken = read(card);
        const finals = finalsFor(spoken, ["pci"]);
        assert.equal(finals.length, spoken.length, "one final out for each in, in order");
        assert.deepEqual(
          finals.map((f) => f.segment_id),
          spoken.map((_, i) => i),
        );
        for (const final of finals) assertNoNumbers(final);
        assert.ok(textOf(finals).includes("[REDACTED_PCI]"), textOf(finals));
        // The words around the number stay.
        const spokenNumber = (w: string) => numberSpans([w]).length > 0 || ["uh", "um", "double", "oh"].includes(w);
        const kept = spoken.flat().filter((w) => !spokenNumber(w));
        for (const word of kept) assert.ok(textOf(finals).includes(word), `${word} kept in ${textOf(finals)}`);
      });
    }
  }

  it("the token spans the words it replaces, in each final a split number touches", () => {
    const card = "4111111111111111";
    const finals = finalsFor([["card", ...digitByDigit(card.slice(0, 6))], digitByDigit(card.slice(6))], ["pci"]);
    assert.deepEqual(finals[0]?.words?.at(-1), {
      word: "[REDACTED_PCI]",
      start_ms: 300,
      end_ms: 6 * 300 + 250,
      confidence: 0.9,
    });
    assert.equal(finals[0]?.text, "card [REDACTED_PCI]");
    assert.equal(finals[1]?.text, "[REDACTED_PCI]");
    const second = finals[1]?.words?.[0];
    assert.equal(second?.start_ms, 7 * 300 + 1500);
    assert.equal(second?.end_ms, 7 * 300 + 1500 + 9 * 300 + 250);
  });

  it("leaves numbers that are not card numbers: a Luhn-invalid one, a phone number, a count", () => {
    const invalid = digitByDigit("4111111111111112");
    assert.equal(textOf(finalsFor([invalid], ["pci"])), invalid.join(" "));
    const phone = ["call", ...digitByDigit("2125550123")];
    assert.equal(textOf(finalsFor([phone], ["pci"])), phone.join(" "));
    assert.equal(textOf(finalsFor([["i", "have", "two", "cats"]], ["pci"])), "i have two cats");
  });

  it("a card number judged as it stands when the next final does not continue it", () => {
    const card = digitByDigit("4111111111111111");
    const finals = finalsFor([card.slice(0, 8), ["sorry", "let", "me", "start", "again"], card.slice(8)], ["pci"]);
    assert.equal(
      textOf(finals),
      `${card.slice(0, 8).join(" ")} | sorry let me start again | ${card.slice(8).join(" ")}`,
    );
  });

  it("CVV and expiry only within 30 s of the card, and only the next two", () => {
    const card = ["card", ...digitByDigit("4111111111111111")];
    const late = finalsFor([card, ...Array.from({ length: 30 }, () => ["yes"]), ["one", "two", "three"]], ["pci"]);
    assert.equal(late.at(-1)?.text, "one two three");
    const third = finalsFor([card, ["one", "two", "three"], ["four", "five", "six"]], ["pci"]);
    // The three finals are one sequence: all of it goes with the card.
    assert.equal(textOf(third), "card [REDACTED_PCI] | [REDACTED_PCI] | [REDACTED_PCI]");
    const apart = finalsFor(
      [
        card,
        ["code", "one", "two", "three"],
        ["expiry", "oh", "four", "two", "seven"],
        ["order", "five", "five", "five"],
      ],
      ["pci"],
    );
    assert.equal(
      textOf(apart),
      "card [REDACTED_PCI] | code [REDACTED_PCI] | expiry [REDACTED_PCI] | order five five five",
    );
  });

  it("numerals and redaction together: the card goes, the money becomes digits", () => {
    const finals = finalsFor(
      [["my", "card", "is", ...digitByDigit(CARDS[1]), "and", "i", "owe", "twenty", "five", "dollars"]],
      ["pci"],
      true,
    );
    assert.equal(textOf(finals), "my card is [REDACTED_PCI] and i owe $25");
  });

  it("a transcript without word timings is redacted in its text and stays without words", () => {
    const text = new TranscriptText({ numerals: false, redact: ["pci"] }, () => 0);
    const [final] = timedFinals([["card", ...digitByDigit(CARDS[0]), "thanks"]]);
    assert.ok(final);
    const plain = Object.fromEntries(Object.entries(final).filter(([key]) => key !== "words")) as TranscriptMessage;
    const [out] = text.final(plain);
    assert.equal(out?.type === "transcript" && out.text, "card [REDACTED_PCI] thanks");
    assert.equal(out !== undefined && "words" in out, false);
  });
});

describe("redact ssn and numbers", () => {
  it("ssn: nine digits however grouped, also split over two finals", () => {
    const grouped = ["my", "social", "is", "one", "two", "three", "forty", "five", "sixty", "seven", "eighty", "nine"];
    assert.equal(textOf(finalsFor([grouped], ["ssn"])), "my social is [REDACTED_SSN]");
    assert.equal(
      textOf(finalsFor([digitByDigit("123"), [...digitByDigit("456789"), "right"]], ["ssn"])),
      "[REDACTED_SSN] | [REDACTED_SSN] right",
    );
  });

  it("ssn: not numbers the SSA never issues, not other lengths, not card numbers", () => {
    for (const digits of ["912345678", "000123456", "666123456", "123004567", "123450000", "12345678", "1234567890"]) {
      assert.equal(textOf(finalsFor([digitByDigit(digits)], ["ssn"])), digitByDigit(digits).join(" "), digits);
    }
    assert.equal(textOf(finalsFor([digitByDigit(CARDS[0])], ["ssn"])), digitByDigit(CARDS[0]).join(" "));
    assert.ok(isSsn("123456789") && !isSsn("987654321"));
  });

  it("numbers: three or more digits, money included; not one or two", () => {
    assert.equal(
      textOf(finalsFor([["order", "one", "two", "three", "shipped"]], ["numbers"])),
      "order [REDACTED_NUMBER] shipped",
    );
    assert.equal(
      textOf(finalsFor([["two", "cats", "and", "twenty", "dogs"]], ["numbers"])),
      "two cats and twenty dogs",
    );
    assert.equal(textOf(finalsFor([["twenty", "five", "hundred", "dollars"]], ["numbers"])), "[REDACTED_NUMBER]");
    assert.equal(textOf(finalsFor([["twenty", "five", "dollars"]], ["numbers"], true)), "$25");
  });

  it("pci and ssn together: each as its kind", () => {
    const finals = finalsFor(
      [[...digitByDigit(CARDS[2]), "and", "my", "social", ...digitByDigit("123456789")]],
      ["pci", "ssn"],
    );
    assert.equal(textOf(finals), "[REDACTED_PCI] and my social [REDACTED_SSN]");
  });
});

describe("card number checks", () => {
  it("Luhn, and a card inside a longer run of digits", () => {
    assert.ok(luhnValid("4111111111111111"));
    assert.ok(!luhnValid("4111111111111112"));
    assert.ok(holdsCardNumber(`12${CARDS[0]}`, [0, 2]), "from where a part starts");
    assert.ok(!holdsCardNumber(`12${CARDS[0]}`), "not from elsewhere");
    assert.ok(holdsCardNumber(`${CARDS[0]}1230427`), "with a CVV and expiry after it");
    assert.ok(!holdsCardNumber(`${CARDS[0]}1`), "one more digit is not a CVV");
    assert.ok(!holdsCardNumber("411111111111"), "12 digits are too few");
    assert.equal(withCheckDigit("411111111111111"), "4111111111111111");
  });
});
