/**
 * The English words numbers are spoken with, as engines write them (lowercase): what
 * `spoken-numbers.ts` reads.
 */
/** Words that are one digit. "oh" counts only next to another number word. */
export const DIGITS: ReadonlyMap<string, number> = new Map([
  ["zero", 0],
  ["oh", 0],
  ["o", 0],
  ["one", 1],
  ["two", 2],
  ["three", 3],
  ["four", 4],
  ["five", 5],
  ["six", 6],
  ["seven", 7],
  ["eight", 8],
  ["nine", 9],
]);
export const TEENS: ReadonlyMap<string, number> = new Map([
  ["ten", 10],
  ["eleven", 11],
  ["twelve", 12],
  ["thirteen", 13],
  ["fourteen", 14],
  ["fifteen", 15],
  ["sixteen", 16],
  ["seventeen", 17],
  ["eighteen", 18],
  ["nineteen", 19],
]);
export const TENS: ReadonlyMap<string, number> = new Map([
  ["twenty", 20],
  ["thirty", 30],
  ["forty", 40],
  ["fifty", 50],
  ["sixty", 60],
  ["seventy", 70],
  ["eighty", 80],
  ["ninety", 90],
]);
export const SCALES: ReadonlyMap<string, number> = new Map([
  ["hundred", 100],
  ["thousand", 1000],
  ["million", 1_000_000],
]);
/** "double four" is 44, "triple seven" 777. */
export const REPEATS: ReadonlyMap<string, number> = new Map([
  ["double", 2],
  ["triple", 3],
]);
/** A number followed by one of these is an ordinal ("twenty fifth"): it stays words. */
export const ORDINALS = new Set([
  "first",
  "second",
  "third",
  "fourth",
  "fifth",
  "sixth",
  "seventh",
  "eighth",
  "ninth",
  "tenth",
  "eleventh",
  "twelfth",
  "thirteenth",
  "fourteenth",
  "fifteenth",
  "sixteenth",
  "seventeenth",
  "eighteenth",
  "nineteenth",
  "twentieth",
  "thirtieth",
  "fortieth",
  "fiftieth",
  "sixtieth",
  "seventieth",
  "eightieth",
  "ninetieth",
  "hundredth",
  "thousandth",
  "millionth",
]);
export const DOLLARS = new Set(["dollar", "dollars", "bucks"]);
export const CENTS = new Set(["cent", "cents"]);
/** Hesitations an engine may write inside a number read aloud; they do not break it for redaction. */
export const FILLERS = new Set(["uh", "um", "er", "ah", "erm", "hmm", "mm", "dash", "slash"]);
