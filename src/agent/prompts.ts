import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths';

/** Role prompts live in data/prompts/<role>.md, versioned with the code. */
export function rolePrompt(role: string): string {
  return readFileSync(join(ROOT, 'data', 'prompts', `${role}.md`), 'utf8').trim();
}

export function section(title: string, body: string | undefined): string {
  return body && body.trim() ? `## ${title}\n${body.trim()}\n` : '';
}

export function codeBlock(files: Record<string, string>): string {
  return Object.entries(files)
    .map(([path, text]) => `${path}\n\`\`\`\n${text.replace(/\n$/, '')}\n\`\`\``)
    .join('\n\n');
}

/** The end of a log, where errors and final metrics are. */
export function tail(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `[… ${text.length - maxChars} characters cut …]\n${text.slice(-maxChars)}`;
}
