/**
 * Descriptions as dbt docs shows them: Markdown (paragraphs, emphasis, lists, code, links, tables)
 * turned into HTML when the site is generated. Raw HTML in a description is shown as text, and a
 * link or image may only point to http(s), mailto, a relative path or an anchor, so a description
 * cannot run script in the page.
 */
import { Marked, type Tokens } from 'marked';

const SAFE_URL = /^(https?:|mailto:|#|\/|\.{0,2}\/|[\w-]+(\/|\.|$))/i;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(token.text);
    },
    link(this: { parser: { parseInline(tokens: Tokens.Generic[]): string } }, token: Tokens.Link): string {
      const text = this.parser.parseInline(token.tokens as Tokens.Generic[]);
      if (!SAFE_URL.test(token.href.trim())) return text;
      const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
      return `<a href="${escapeHtml(token.href.trim())}"${title} target="_blank" rel="noopener noreferrer">${text}</a>`;
    },
    image(token: Tokens.Image): string {
      if (!SAFE_URL.test(token.href.trim())) return escapeHtml(token.text);
      return `<img src="${escapeHtml(token.href.trim())}" alt="${escapeHtml(token.text)}">`;
    },
  },
});

/** HTML for a Markdown description (undefined for an empty one). */
export function markdownHtml(text: string | null | undefined, always = false): string | undefined {
  if (!text || !text.trim()) return undefined;
  // Plain prose: the site escapes and shows the text itself (no HTML to carry).
  if (!always && !/[*_`[#>|\n]|^\s*([-+]|\d+\.)\s/.test(text)) return undefined;
  return (marked.parse(text, { async: false }) as string).trim();
}
