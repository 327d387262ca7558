import { describe, it, expect } from 'vitest';
import { StreamRedactor } from '../../src/secrets/stream-redactor';
import { REDACT_LIST_VAR, redactText, secretValues } from '../../src/secrets/redact';

const KEY = 'sk-test-0123456789abcdefXYZ';
const OTHER = 'AWSSECRET/abc+def=ghijklmn';

/** Pushes `text` through a redactor in the given chunks and returns what came out, and when. */
function through(secrets: string[], chunks: string[]) {
  const r = new StreamRedactor(secrets);
  const out = chunks.map((c) => r.push(Buffer.from(c)).toString());
  return { text: out.join('') + r.end().toString(), perChunk: out };
}

describe('StreamRedactor', () => {
  it('cuts a secret wherever the stream is split, at every byte position, for one and two splits', () => {
    const text = `before ${KEY} middle ${OTHER}${KEY} after\n`;
    const expected = 'before [redacted] middle [redacted][redacted] after\n';
    for (let i = 0; i <= text.length; i++) {
      expect(through([KEY, OTHER], [text.slice(0, i), text.slice(i)]).text).toBe(expected);
      for (let j = i; j <= text.length; j += 3)
        expect(through([KEY, OTHER], [text.slice(0, i), text.slice(i, j), text.slice(j)]).text).toBe(expected);
    }
    // One byte at a time.
    expect(through([KEY, OTHER], [...text]).text).toBe(expected);
  });

  it('holds back only what could begin a secret: ordinary output passes at once', () => {
    const { perChunk } = through(
      [KEY],
      ['step:1/10 train_time:5ms\n', 'line two sk-te', 'st-0123456789abcdefXYZ!\n', 'sk-not it\n'],
    );
    expect(perChunk).toEqual(['step:1/10 train_time:5ms\n', 'line two ', '[redacted]!\n', 'sk-not it\n']);
  });

  it('a possible beginning that never completes is passed on at the end', () => {
    expect(through([KEY], ['output ends in sk-test-01']).perChunk).toEqual(['output ends in ']);
    expect(through([KEY], ['output ends in sk-test-01']).text).toBe('output ends in sk-test-01');
  });

  it('overlapping and nested secrets: the longer one is cut whole', () => {
    expect(through(['abcdefgh', 'abcdefgh1234'], ['xx abcdefgh1234 yy abcdefgh zz']).text).toBe(
      'xx [redacted] yy [redacted] zz',
    );
    expect(through(['aaaaaaaa'], ['aaaaaaaaaaaa']).text).toBe('[redacted]aaaa');
  });

  it('without secrets the bytes go through untouched; multi-byte characters survive a split', () => {
    const r = new StreamRedactor([]);
    const chunk = Buffer.from('héllo');
    expect(r.push(chunk)).toBe(chunk);
    const bytes = Buffer.from('grüße sk-test-0123456789abcdefXYZ ü');
    const parts = [bytes.subarray(0, 3), bytes.subarray(3, 12), bytes.subarray(12)];
    const red = new StreamRedactor([KEY]);
    expect(Buffer.concat([...parts.map((p) => red.push(p)), red.end()]).toString()).toBe('grüße [redacted] ü');
  });

  it('100 MB through it stays linear (well under a few seconds)', () => {
    const r = new StreamRedactor([KEY, OTHER, 'another-secret-value-1234567890']);
    const chunk = Buffer.alloc(64 * 1024, 's'); // starts of secrets everywhere ("s"), never a whole one
    const started = performance.now();
    let out = 0;
    for (let i = 0; i < 1600; i++) out += r.push(chunk).length;
    out += r.end().length;
    expect(out).toBe(1600 * 64 * 1024);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('secretValues', () => {
  it('credential-named variables and those SPEEDRUNNER_REDACT names; short values ignored; longest first', () => {
    const env = {
      OPENAI_API_KEY: 'abcdefgh12345',
      ANTHROPIC_API_KEY: 'sk-ant-0000000000',
      TEMPORAL_API_KEY: 'temporal-key-1',
      AWS_SECRET_ACCESS_KEY: 'aws/secret+key',
      AWS_SESSION_TOKEN: 'aws-session-token',
      AWS_REGION: 'us-east-1-long',
      GH_TOKEN: 'abcdefgh',
      SHORT_KEY: 'abc',
      MY_DB_URL: 'postgres://u:pw@h/db',
      PLAIN: 'plain-value-x',
      [REDACT_LIST_VAR]: 'MY_DB_URL, NOT_SET',
      PATH: '/usr/bin:/bin',
    };
    const secrets = secretValues(env);
    expect(new Set(secrets)).toEqual(
      new Set([
        'abcdefgh12345',
        'sk-ant-0000000000',
        'temporal-key-1',
        'aws/secret+key',
        'aws-session-token',
        'abcdefgh',
        'postgres://u:pw@h/db',
      ]),
    );
    expect(secrets.map((s) => s.length)).toEqual([...secrets].map((s) => s.length).sort((a, b) => b - a));
    expect(redactText('x postgres://u:pw@h/db y plain-value-x', secrets)).toBe('x [redacted] y plain-value-x');
  });
});
