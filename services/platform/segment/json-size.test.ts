import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './json-object.js';
import { measureBatchEvents, measureSingleEvent } from './json-size.js';
import { eventBytes, MAX_NESTING_DEPTH } from './limits.js';
import { createPrng as prng } from '../../../tests/support/prng.js';

const SHORT_ESCAPES: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

/**
 * The same JSON value written the many ways clients write it: any whitespace, `\u` escapes for any
 * character (either hex case, surrogate pairs too), `\/`, numbers in exponent form, with trailing
 * zeros, or `-0`. Every form parses back to the same value.
 */
function render(value: unknown, rnd: () => number): string {
  const pick = <T,>(options: readonly T[]): T => options[Math.floor(rnd() * options.length)]!;
  const ws = () => (rnd() < 0.7 ? '' : pick([' ', '\n', '\t', '\r\n  ', '  ']));
  const hex = (unit: number) => {
    const h = unit.toString(16).padStart(4, '0');
    return `\\u${rnd() < 0.5 ? h : h.toUpperCase()}`;
  };
  const string = (text: string) => {
    let out = '"';
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      const next = text.charCodeAt(i + 1);
      if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += rnd() < 0.5 ? text.slice(i, i + 2) : hex(unit) + hex(next);
        i++;
      } else if (unit >= 0xd800 && unit <= 0xdfff) out += hex(unit); // a lone surrogate only survives escaped
      else if (unit in SHORT_ESCAPES) out += rnd() < 0.5 ? SHORT_ESCAPES[unit] : hex(unit);
      else if (unit < 0x20) out += hex(unit);
      else if (unit === 0x2f && rnd() < 0.5) out += '\\/';
      else out += rnd() < 0.2 ? hex(unit) : text[i];
    }
    return `${out}"`;
  };
  const number = (n: number) => {
    if (Object.is(n, 0) && rnd() < 0.3) return '-0';
    const forms = [String(n), n.toExponential(), n.toExponential().toUpperCase().replace('E+', 'E')];
    if (Number.isInteger(n) && Math.abs(n) < 1e15) forms.push(`${n}.000`, `${n}e0`);
    if (String(n).includes('.') && !String(n).includes('e')) forms.push(`${n}00`);
    return pick(forms);
  };
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return number(value);
  if (typeof value === 'string') return string(value);
  if (Array.isArray(value)) return `[${ws()}${value.map((v) => render(v, rnd)).join(`${ws()},${ws()}`)}${ws()}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${string(k)}${ws()}:${ws()}${render(v, rnd)}`);
  return `{${ws()}${entries.join(`${ws()},${ws()}`)}${ws()}}`;
}

/** What the collector measured by serializing: the events as the body parser sees them. */
function serializedMeasures(events: unknown[]) {
  return {
    bytes: events.map((e) => eventBytes(e)),
    deep: events.map((e) => nestsDeeperThan(e, MAX_NESTING_DEPTH)),
  };
}

/** Characters whose serialized size differs from their raw or escaped size. */
const trickyText = fc.string({ unit: fc.constantFrom('/', '"', '\\', '\n', '\t', '\u0001', '\u007f', 'a', 'é', '€', '😀', '\ud800', '\udc00', '\u2028') });
const trickyNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }).map(Number),
  fc.constantFrom(1e20, 1e21, 5e-324, 1e-7, 0.1, 19.9, 1e15, 1e16, 123456789012345, 1234567890123456),
);
const tricky = fc.dictionary(trickyText, fc.oneof(trickyText, trickyNumber, fc.array(fc.oneof(trickyText, trickyNumber), { maxLength: 3 })), { maxKeys: 4 });
// __proto__ keys are left to the serializing path (the body parser drops them).
const anyJson = fc.oneof(fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }), tricky).filter((v) => !JSON.stringify(v).includes('__proto__'));

describe('event sizes from the bytes as received', () => {
  it('equal the serialized size of each parsed event, however the client wrote its JSON', () => {
    fc.assert(
      fc.property(fc.array(anyJson, { maxLength: 6 }), fc.integer(), anyJson, (events, seed, extra) => {
        const rnd = prng(seed);
        const text = `${rnd() < 0.5 ? ' ' : ''}{"sentAt":${render(extra, rnd)} , "batch" :[${events.map((e) => render(e, rnd)).join(' ,\n')}]}\n`;
        const body = Buffer.from(text, 'utf8');
        const parsed = (JSON.parse(body.toString('utf8')) as { batch: unknown[] }).batch;
        const measured = measureBatchEvents(body);
        expect(measured).not.toBeNull();
        expect(measured!.bytes).toEqual(serializedMeasures(parsed).bytes);
        expect(measured!.levels.map((l) => l > MAX_NESTING_DEPTH)).toEqual(serializedMeasures(parsed).deep);
      }),
      { numRuns: 500 },
    );
  });

  it('measure a single-call body as one event', () => {
    fc.assert(
      fc.property(anyJson, fc.integer(), (event, seed) => {
        const body = Buffer.from(`\n ${render(event, prng(seed))} \n`, 'utf8');
        expect(measureSingleEvent(body)?.bytes).toEqual([eventBytes(JSON.parse(body.toString('utf8')))]);
      }),
      { numRuns: 300 },
    );
  });

  it('counts the levels of nesting the way the nesting guard does', () => {
    const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    const at = (levels: number) => measureBatchEvents(Buffer.from(`{"batch":[${nested(levels)},[[]],"x"]}`))!.levels;
    expect(at(64)).toEqual([64, 2, 0]);
    expect(at(65)[0]).toBe(65);
    expect(nestsDeeperThan(JSON.parse(nested(64)), MAX_NESTING_DEPTH)).toBe(false);
    expect(nestsDeeperThan(JSON.parse(nested(65)), MAX_NESTING_DEPTH)).toBe(true);
    // Far deeper than any stack would allow for a recursive walk.
    expect(at(100_000)[0]).toBe(100_000);
  });

  it.each([
    ['"\\/"', 3],
    ['"\\u00e9\\u20AC"', 7],
    ['"\\ud83d\\ude00"', 6],
    ['"\\ud800x"', 9],
    ['"\\u0001\\n"', 10],
    ['12345678901234567890', 20],
    ['10000000000000000000000', 5],
    ['1.0000000000000001', 1],
    ['0.1000000000000000055511151231257827', 3],
    ['123456789012.345', 16],
    ['0.000001', 8],
    ['1e20', 21],
    ['1E+21', 5],
    ['-0', 1],
    ['1.50', 3],
    ['0.0000001', 4],
    ['1e999', 4],
  ])('measures %s as JSON.stringify writes it back (%i bytes)', (text, bytes) => {
    expect(eventBytes(JSON.parse(text))).toBe(bytes);
    expect(measureSingleEvent(Buffer.from(text))!.bytes).toEqual([bytes]);
  });

  it('takes the last "batch" key, as JSON.parse does', () => {
    expect(measureBatchEvents(Buffer.from('{"batch":[1,2,3],"batch":[{"a":"é"}]}'))!.bytes).toEqual([10]);
  });

  it('leaves to serialization what the bytes cannot tell: invalid UTF-8, __proto__ keys, escaped top-level keys, no batch array', () => {
    expect(measureBatchEvents(Buffer.concat([Buffer.from('{"batch":[{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]))).toBeNull();
    expect(measureBatchEvents(Buffer.from('{"batch":[{"__proto__":{"x":1}}]}'))).toBeNull();
    expect(measureBatchEvents(Buffer.from('{"batch":[{"\\u005f_proto__":{"x":1}}]}'))).toBeNull();
    expect(measureBatchEvents(Buffer.from('{"batch":[{"a__proto__":1}]}'))).not.toBeNull();
    expect(measureBatchEvents(Buffer.from('{"b\\u0061tch":[{}]}'))).toBeNull();
    expect(measureBatchEvents(Buffer.from('{"batch":{}}'))).toBeNull();
    expect(measureBatchEvents(Buffer.from('[{"batch":[]}]'))).toBeNull();
    expect(measureSingleEvent(Buffer.from('{"a":1} x'))).toBeNull();
  });

  it('counts a key sent twice in one object twice (JSON.parse keeps one): the bytes as received', () => {
    expect(measureSingleEvent(Buffer.from('{"a":1,"a":2}'))!.bytes).toEqual([13]);
  });
});
