// Names as text. labelParts splits a name into plain text and marks: a space at either end of
// the name or beside other white space shows as ␣, and any other white space, control, format
// or blank-looking character as ‹U+XXXX› (its code point), as do the combining marks of a name
// not in Unicode's composed form (NFC), which would look like its composed twin. The mark
// characters themselves (‹ and ␣) are shown as ‹U+XXXX› when a name holds them, so a mark never
// means two things and two different names never look the same; the empty name shows as
// ‹empty›. Labels that are not names (‹4 other drinks›) are in ‹ › too. Look-alike letters of
// different scripts (Latin a, Cyrillic а) are not told apart. ␣ (U+2423) rather than ␠ (U+2420):
// common fonts (DejaVu among them) have ␣ and ‹ ›, few have ␠, and a chart's canvas has no
// fallback but the system's fonts.

const SPACE = "␣";
const ESCAPED = new Set(["‹", SPACE]); // shown by code point when a name holds them
const WHITE = /^\p{White_Space}$/u;
const HIDDEN = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\u034F\u115F\u1160\u3164\uFFA0\u2800]$/u;
const EMOJI = /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]$/u;
const COMBINING = /^\p{M}$/u;

function codePoint(ch) {
  return `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

function isPlain(ch) {
  return ch !== undefined && !WHITE.test(ch) && !HIDDEN.test(ch) && !ESCAPED.has(ch);
}

// Whether chars[i] shows as a mark; `decomposed`: the name is not in NFC.
function needsMark(chars, i, decomposed) {
  const ch = chars[i];
  if (decomposed && COMBINING.test(ch)) return true;
  if (ch === " ") return !(isPlain(chars[i - 1]) && isPlain(chars[i + 1]));
  if (ch === "\u200D") return !(EMOJI.test(chars[i - 1] ?? "") && EMOJI.test(chars[i + 1] ?? ""));
  return ESCAPED.has(ch) || WHITE.test(ch) || HIDDEN.test(ch);
}

export function labelParts(name) {
  const text = String(name);
  if (text === "") return [{ text: "‹empty›", mark: true }];
  const chars = [...text]; // by code point
  const decomposed = text.normalize("NFC") !== text;
  const parts = [];
  chars.forEach((ch, i) => {
    const mark = needsMark(chars, i, decomposed);
    const shown = !mark ? ch : ch === " " ? SPACE : `‹${codePoint(ch)}›`;
    const last = parts[parts.length - 1];
    if (last && last.mark === mark) last.text += shown;
    else parts.push({ text: shown, mark });
  });
  return parts;
}

// A name as one line of text, for places that take plain text (chart labels, legends).
export function labelText(name) { return labelParts(name).map((p) => p.text).join(""); }

// A name as text for Chart.js. Chart.js 4 caches the widths of axis labels in a plain object
// keyed by the label, so a label such as "constructor" or "__proto__" reads an inherited
// property as its width and the axis is laid out too narrow; such a label gets an invisible
// zero-width space at its end, which makes it an ordinary key. (labelText never ends a name in
// a plain U+200B: it shows one as ‹U+200B›.)
export function canvasLabel(name) {
  const shown = labelText(name);
  return shown in Object.prototype ? `${shown}\u200B` : shown;
}

// A name quoted exactly, invisible characters written as \u escapes (for a tooltip).
export function quoted(name) {
  const text = String(name);
  const chars = [...text];
  const decomposed = text.normalize("NFC") !== text;
  const body = chars.map((ch, i) => {
    if (ch === '"' || ch === "\\") return `\\${ch}`;
    if (ch !== " " && needsMark(chars, i, decomposed) && !ESCAPED.has(ch)) {
      const units = Array.from({ length: ch.length }, (_, k) => ch.charCodeAt(k)); // UTF-16, as JSON
      return units.map((u) => `\\u${u.toString(16).toUpperCase().padStart(4, "0")}`).join("");
    }
    return ch;
  });
  return `"${body.join("")}"`;
}

export function compareText(a, b) { return a < b ? -1 : a > b ? 1 : 0; } // by code point, as the CLI

// Text from outside (a link, a name) shortened for a message, as it would show: never markup.
export function clipped(name, max = 40) {
  const chars = [...String(name)];
  return chars.length > max ? `${labelText(chars.slice(0, max).join(""))}…` : labelText(name);
}
