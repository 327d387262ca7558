/** JSON that is safe inside a <script> element: no `</script>`, no `<!--`, no JS line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Inlined code must not close its own <script> element early. */
const inlineScript = (js: string) => js.replace(/<\/(script)/gi, '<\\/$1');

/** One self-contained page: styles, libraries, data and page code inline; no request leaves it. */
export function htmlPage(opts: { title: string; css: string; scripts: string[]; data: unknown }): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing to fetch: a mailed report must not call home or load anything remote.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(opts.title)}</title>`,
    `<style>${opts.css.replace(/<\/(style)/gi, '<\\/$1')}</style>`,
    '</head><body>',
    '<div id="app">Loading… (this report needs JavaScript)</div>',
    `<script type="application/json" id="report-data">${scriptJson(opts.data)}</script>`,
    ...opts.scripts.map((js) => `<script>${inlineScript(js)}</script>`),
    '</body></html>',
    '',
  ].join('\n');
}
