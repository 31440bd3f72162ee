import { ARCHITECTURE_SYNONYMS } from "./architectures.js";

/**
 * "Did you mean" for field names, aliases, regions and template ids.
 * Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), so `validaton_tests` and `us-esat-1` both find their match.
 * Known other names come first: `amd64` means x86_64, though it is one edit
 * from arm64.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  for (let i = 0; i < rows; i++) d[i]![0] = i;
  for (let j = 0; j < cols; j++) d[0]![j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** Other names of a value, by what they mean; a synonym counts only where its meaning is a candidate. */
const SYNONYMS: Readonly<Record<string, string>> = ARCHITECTURE_SYNONYMS;

/** The candidate `input` is another name for, if any. */
export function synonymOf(input: string, candidates: Iterable<string>): string | undefined {
  const meaning = Object.hasOwn(SYNONYMS, input.toLowerCase()) ? SYNONYMS[input.toLowerCase()] : undefined;
  if (meaning === undefined) return undefined;
  for (const candidate of candidates) if (candidate === meaning) return candidate;
  return undefined;
}

/** The closest candidate, if it is close enough to be a plausible typo (or `input` is another name for it). */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const synonym = synonymOf(input, list);
  if (synonym !== undefined) return synonym;
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of list) {
    const distance = editDistance(needle, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(input.length, best.length) / 3));
  return bestDistance <= limit ? best : undefined;
}

/** ` (did you mean "x"?)`, or `` when nothing is close; for another name, what it is called here. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const list = [...candidates];
  const synonym = synonymOf(input, list);
  if (synonym !== undefined) return ` (did you mean "${synonym}"? EC2's name for ${input})`;
  const match = closest(input, list);
  return match === undefined ? "" : ` (did you mean "${match}"?)`;
}
