import { isUtf8 } from 'node:buffer';

/**
 * Event sizes from the request bytes already read, instead of serializing every event again.
 *
 * The 32 KB rule measures an event's JSON the way `Buffer.byteLength(JSON.stringify(event))` does
 * (see limits.ts). For JSON that parsed, the same figure follows from the bytes as received:
 * whitespace between tokens counts 0, string bytes count as themselves, an escape counts what
 * JSON.stringify writes for its character (`\u00e9` is the 2 bytes of é, `\/` is 1, a lone
 * surrogate stays a 6-byte escape), and a number counts the length of its shortest form (`1e20`
 * is 21 digits, `1.50` is 3). The depth of nesting comes out of the same pass.
 *
 * Only where that holds: the body is valid UTF-8 (invalid bytes become U+FFFD when decoded) and
 * no string in it may decode to `__proto__` (the body parser drops such keys). Otherwise, and
 * whenever the bytes do not have the expected shape, the answer is null and the caller measures
 * events by serializing them. One difference remains on purpose: a key repeated in one object
 * counts every time it was sent, where JSON.parse keeps only the last.
 */
export interface EventMeasures {
  /** Serialized UTF-8 bytes of each event, as eventBytes() would count them. */
  bytes: number[];
  /** Levels of objects/arrays of each event: 0 for a scalar, 1 for a flat object. */
  levels: number[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** `"__proto__"`: JSON.parse's reviver in the body parser drops keys of that name. */
const PROTO_BYTES = 11;

/** Measures of each element of the top-level object's `batch` array (the last `batch` key, as JSON.parse keeps it). */
export function measureBatchEvents(body: Buffer): EventMeasures | null {
  if (!measurable(body)) return null;
  const scan = new Scanner(body);
  let at = scan.skipWhitespace(0);
  if (body[at] !== 0x7b /* { */) return null;
  let found: EventMeasures | null = null;
  at = scan.skipWhitespace(at + 1);
  if (body[at] === 0x7d /* } */) return null;
  for (;;) {
    if (body[at] !== QUOTE) return null;
    const keyEnd = scan.plainStringEnd(at);
    if (keyEnd < 0) return null; // an escaped key: not worth decoding here
    const isBatch = keyEnd - at === 7 && body.toString('latin1', at + 1, at + 6) === 'batch';
    at = scan.skipWhitespace(keyEnd);
    if (body[at] !== 0x3a /* : */) return null;
    at = scan.skipWhitespace(at + 1);
    if (isBatch && body[at] === 0x5b /* [ */) {
      found = { bytes: [], levels: [] };
      at = scan.skipWhitespace(at + 1);
      if (body[at] !== 0x5d /* ] */) {
        for (;;) {
          at = scan.measure(at);
          if (at < 0) return null;
          found.bytes.push(scan.size);
          found.levels.push(scan.levels);
          at = scan.skipWhitespace(at);
          if (body[at] === 0x2c /* , */) at = scan.skipWhitespace(at + 1);
          else if (body[at] === 0x5d /* ] */) break;
          else return null;
        }
      }
      at += 1;
    } else {
      if (isBatch) found = null;
      at = scan.measure(at);
      if (at < 0) return null;
    }
    at = scan.skipWhitespace(at);
    if (body[at] === 0x2c /* , */) at = scan.skipWhitespace(at + 1);
    else if (body[at] === 0x7d /* } */) return found;
    else return null;
  }
}

/** Measures of the body as one event (single-call endpoints). */
export function measureSingleEvent(body: Buffer): EventMeasures | null {
  if (!measurable(body)) return null;
  const scan = new Scanner(body);
  const end = scan.measure(scan.skipWhitespace(0));
  if (end < 0 || scan.skipWhitespace(end) !== body.length) return null;
  return { bytes: [scan.size], levels: [scan.levels] };
}

function measurable(body: Buffer): boolean {
  return body.length > 0 && isUtf8(body);
}

/** Whether the JSON string from `start` to `end` (quotes included) is "__proto__". */
function isProto(b: Buffer, start: number, end: number, escaped: boolean): boolean {
  return escaped ? JSON.parse(b.toString('utf8', start, end)) === '__proto__' : b.toString('latin1', start + 1, end - 1) === '__proto__';
}

class Scanner {
  /** Result of the last measure(): serialized bytes and levels of nesting. */
  size = 0;
  levels = 0;
  constructor(private readonly b: Buffer) {}

  skipWhitespace(at: number): number {
    const b = this.b;
    while (at < b.length) {
      const c = b[at]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      at++;
    }
    return at;
  }

  /** End (after the closing quote) of a string starting at `at` that has no escape; -1 if it has one. */
  plainStringEnd(at: number): number {
    const b = this.b;
    for (let i = at + 1; i < b.length; i++) {
      const c = b[i];
      if (c === QUOTE) return i + 1;
      if (c === BACKSLASH) return -1;
    }
    return -1;
  }

  /** Measures the JSON value starting at `at` into size/levels; returns its end, or -1 if the bytes are not as expected. */
  measure(at: number): number {
    const b = this.b;
    const end = b.length;
    let size = 0;
    let level = 0;
    let deepest = 0;
    do {
      if (at >= end) return -1;
      const c = b[at]!;
      if (c === QUOTE) {
        at = this.string(at);
        if (at < 0) return -1;
        size += this.size;
      } else if (c === 0x7b || c === 0x5b) {
        level++;
        if (level > deepest) deepest = level;
        size++;
        at++;
      } else if (c === 0x7d || c === 0x5d) {
        if (level === 0) return -1;
        level--;
        size++;
        at++;
      } else if (c === 0x2c || c === 0x3a) {
        size++;
        at++;
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        at++;
      } else if (c === 0x74 /* true */ || c === 0x6e /* null */) {
        size += 4;
        at += 4;
      } else if (c === 0x66 /* false */) {
        size += 5;
        at += 5;
      } else {
        const start = at;
        at = this.number(at);
        if (at === start) return -1;
        size += this.size;
      }
    } while (level > 0);
    this.size = size;
    this.levels = deepest;
    return at;
  }

  /** Serialized size of the string at `at` into this.size; returns its end. */
  private string(at: number): number {
    // A loop in JS, not Buffer#indexOf: event strings are short, and a native call per string costs more.
    const b = this.b;
    let size = 2;
    let i = at + 1;
    let escaped = false;
    for (;;) {
      const run = i;
      let c = b[i];
      while (c !== QUOTE && c !== BACKSLASH && c !== undefined) c = b[++i];
      size += i - run;
      if (c === undefined) return -1;
      if (c === QUOTE) {
        // A string that decodes to __proto__ (escaped or not) leaves the event to serialization.
        if (size === PROTO_BYTES && isProto(b, at, i + 1, escaped)) return -1;
        this.size = size;
        return i + 1;
      }
      escaped = true;
      const kind = b[i + 1];
      if (kind === 0x75 /* u */) {
        const unit = hex4(b, i + 2);
        if (unit < 0) return -1;
        if (unit >= 0xd800 && unit <= 0xdbff && b[i + 6] === BACKSLASH && b[i + 7] === 0x75) {
          const low = hex4(b, i + 8);
          if (low >= 0xdc00 && low <= 0xdfff) {
            size += 4; // a surrogate pair: one 4-byte character
            i += 12;
            continue;
          }
        }
        size += escapedUnitBytes(unit);
        i += 6;
      } else {
        size += kind === 0x2f /* \/ */ ? 1 : 2; // \" \\ \b \f \n \r \t stay 2-byte escapes
        i += 2;
      }
    }
  }

  /** Serialized size of the number at `at` into this.size; returns its end. */
  private number(at: number): number {
    const b = this.b;
    const start = at;
    if (b[at] === 0x2d /* - */) at++;
    const intStart = at;
    while (isDigit(b[at])) at++;
    const intDigits = at - intStart;
    let fractionDigits = 0;
    let fractionZeros = 0; // leading zeros of the fraction
    let exponent = false;
    if (b[at] === 0x2e /* . */) {
      const fractionStart = ++at;
      while (b[at] === 0x30) at++;
      fractionZeros = at - fractionStart;
      while (isDigit(b[at])) at++;
      fractionDigits = at - fractionStart;
    }
    if (b[at] === 0x65 || b[at] === 0x45 /* e E */) {
      exponent = true;
      at++;
      if (b[at] === 0x2b || b[at] === 0x2d) at++;
      while (isDigit(b[at])) at++;
    }
    if (intDigits === 0) return start; // not a number: the caller gives up
    // JSON.stringify writes the shortest form that reads back as the same double. A decimal of at
    // most 15 significant digits (DBL_DIG) is that form already, unless it has trailing fraction
    // zeros, is -0, or is so small (< 1e-6) or so large that it is written with an exponent.
    const zeroInteger = b[intStart] === 0x30;
    const significant = (zeroInteger ? 0 : intDigits) + fractionDigits - (zeroInteger ? fractionZeros : 0);
    const asWritten =
      !exponent &&
      significant <= 15 &&
      (fractionDigits === 0 ? !(zeroInteger && start < intStart) : b[at - 1] !== 0x30 && !(zeroInteger && fractionZeros > 5));
    if (asWritten) {
      this.size = at - start;
    } else {
      const value = Number(b.toString('latin1', start, at));
      this.size = Number.isFinite(value) ? String(value).length : 4; // JSON.stringify writes null
    }
    return at;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function hex4(b: Buffer, at: number): number {
  let unit = 0;
  for (let i = at; i < at + 4; i++) {
    const c = b[i];
    if (c === undefined) return -1;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) return -1;
    unit = unit * 16 + digit;
  }
  return unit;
}

/** Bytes JSON.stringify + UTF-8 give one UTF-16 unit that arrived as a \u escape. */
function escapedUnitBytes(unit: number): number {
  if (unit === 0x22 || unit === 0x5c) return 2;
  if (unit === 0x08 || unit === 0x09 || unit === 0x0a || unit === 0x0c || unit === 0x0d) return 2;
  if (unit < 0x20) return 6;
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  if (unit >= 0xd800 && unit <= 0xdfff) return 6; // a lone surrogate stays escaped
  return 3;
}
