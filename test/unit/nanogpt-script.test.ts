import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyEditBlocks, parseEditBlocks } from '../../src/edits/search-replace';
import { loadScript } from '../../src/llm/scripted-server';
import { ROOT } from '../../src/paths';

// The scripted model's edits for nanogpt_baseline must apply to the real template, in either order.
const script = loadScript(join(ROOT, 'data', 'scripts', 'nanogpt_baseline.yaml'));
const template = readFileSync(join(ROOT, 'workspace_templates', 'nanogpt_baseline', 'train_gpt2.py'), 'utf8');
const reply = (name: string) => script.rules.find((r) => r.name === name)!.replies[0];
const apply = (files: Record<string, string>, name: string) => ({
  ...files,
  ...applyEditBlocks(files, parseEditBlocks(reply(name)), ['train_gpt2.py']),
});
const tiny = (code: string) => /"tiny": dict\(([\s\S]*?)\),/.exec(code)![1];
const others = (code: string) => code.replace(/"tiny": dict\([\s\S]*?\),/, '');

describe('data/scripts/nanogpt_baseline.yaml', () => {
  it('lowers the tiny learning rate and nothing else', () => {
    const after = apply({ 'train_gpt2.py': template }, 'coder-tiny-lr')['train_gpt2.py'];
    expect(tiny(template)).toContain('lr=3e-3');
    expect(tiny(after)).toContain('lr=2e-3');
    expect(others(after)).toBe(others(template));
  });

  it('validates the tiny preset less often, before or after the lr change', () => {
    const base = { 'train_gpt2.py': template };
    for (const files of [base, apply(base, 'coder-tiny-lr')]) {
      const after = apply(files, 'coder-tiny-val-every')['train_gpt2.py'];
      expect(tiny(after)).toContain('val_every=15');
      expect(others(after)).toBe(others(template));
    }
  });

  it('answers other plans with no edit block', () => {
    expect(parseEditBlocks(reply('coder-anything-else'))).toEqual([]);
  });
});
