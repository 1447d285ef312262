/**
 * Identity globs, as ACL rules, break-glass filters, CI grants and OIDC claim conditions use them:
 * - `*` matches any run of characters, including none and including `:`, `/` and `@`;
 * - `?` matches exactly one UTF-16 code unit;
 * - every other character matches itself; matching is case-sensitive and whole-string.
 * There is no escape: identities cannot contain `*` or `?` usefully, so none is needed.
 *
 * Matching never backtracks (issue 9 §6: a regex of a dozen `.*` against a long identity blocked a
 * tenant's Durable Object for minutes). The pattern is split on `*`; the first and last pieces are
 * anchored at the ends, and each middle piece is placed at its leftmost fit after the previous one.
 * Leftmost is always safe: any match that places a piece later can place it earlier, leaving more
 * room for the pieces after it. Every text position is scanned by at most one piece's search, so
 * the work is O(text length × longest piece), and patterns are capped at {@link MAX_GLOB_LENGTH}.
 */

/** Longest pattern the schemas accept (ACL rules, break-glass filters, claim conditions). */
export const MAX_GLOB_LENGTH = 256;

/** True when `piece` (literal characters and `?`) matches `text` at offset `at`. */
function pieceAt(piece: string, text: string, at: number): boolean {
  for (let k = 0; k < piece.length; k++) {
    const p = piece.charCodeAt(k);
    if (p !== 0x3f /* ? */ && p !== text.charCodeAt(at + k)) return false;
  }
  return true;
}

/**
 * Leftmost offset in [from, end - piece.length] where `piece` matches, or -1. Candidates come from
 * the native `indexOf` of the piece's longest run without `?` (no regex, no backtracking); each
 * candidate is then checked whole. Candidates only move forward, so this stays O(text × piece).
 */
function findPiece(piece: string, text: string, from: number, end: number): number {
  const runs = piece.split("?");
  let anchor = "";
  let offset = 0;
  for (let i = 0, at = 0; i < runs.length; at += runs[i]!.length + 1, i++) {
    if (runs[i]!.length > anchor.length) [anchor, offset] = [runs[i]!, at];
  }
  for (let at = from; at + piece.length <= end; at++) {
    if (anchor !== "") {
      const hit = text.indexOf(anchor, at + offset);
      if (hit === -1) return -1;
      at = hit - offset;
      if (at + piece.length > end) return -1;
    }
    if (pieceAt(piece, text, at)) return at;
  }
  return -1;
}

/** True when `identity` matches `glob` (see the module comment for the rules). */
export function globMatches(glob: string, identity: string): boolean {
  const pieces = glob.split("*");
  const first = pieces[0]!;
  if (pieces.length === 1) return identity.length === first.length && pieceAt(first, identity, 0);
  const last = pieces[pieces.length - 1]!;
  if (first.length + last.length > identity.length) return false;
  if (!pieceAt(first, identity, 0) || !pieceAt(last, identity, identity.length - last.length)) return false;
  const end = identity.length - last.length;
  let pos = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece === "") continue;
    const at = findPiece(piece, identity, pos, end);
    if (at === -1) return false;
    pos = at + piece.length;
  }
  return true;
}
