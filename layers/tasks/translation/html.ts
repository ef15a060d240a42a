import { parseFragment, type DefaultTreeAdapterTypes as T } from 'parse5';

/**
 * HTML translation (LibreTranslate's `format: "html"`): parse5 finds the text nodes and
 * their byte offsets in the source; only the text nodes worth translating are replaced,
 * spliced into the original string, so every tag, attribute, comment, entity and URL
 * outside them comes back byte for byte. Each text node is translated on its own: the
 * models we serve have no alignment to carry `<b>` into the right place inside one
 * translated sentence, so `Hello <b>friends</b>!` is three nodes ("!" is kept).
 */

/** Elements whose text is never translated: code, scripts, styles, raw text, embedded markup. */
const KEEP_ELEMENTS = new Set([
  'script',
  'style',
  'code',
  'pre',
  'kbd',
  'samp',
  'var',
  'textarea',
  'template',
  'noscript',
  'svg',
  'math',
  'iframe',
  'xmp',
  'plaintext',
]);

/** Classes Mastodon (and microformats) give mentions, hashtags and shortened URLs, plus the usual opt-out. */
const KEEP_CLASSES = new Set(['mention', 'hashtag', 'h-card', 'u-url', 'invisible', 'ellipsis', 'notranslate']);

/** A word of letters somewhere: text of only spaces, digits, punctuation or emoji is kept. */
const HAS_LETTERS = /\p{L}/u;
/** A word that is a URL, an e-mail address, a mention or a hashtag. */
const ATOM = /^(?:[a-z][a-z0-9+.-]*:\/\/\S+|www\.\S+|\S+@\S+\.\S+|[@#][\p{L}\p{N}_@.-]+)$/iu;
/** Text made only of such words (and words without letters) is kept: nothing in it is language. */
const onlyAtoms = (text: string): boolean => text.split(/\s+/).every((w) => ATOM.test(w) || !HAS_LETTERS.test(w));

const attr = (el: T.Element, name: string): string | undefined => el.attrs.find((a) => a.name === name)?.value;

/** Whether nothing under this element is translated. */
const keeps = (el: T.Element): boolean =>
  KEEP_ELEMENTS.has(el.tagName) ||
  attr(el, 'translate')?.toLowerCase() === 'no' ||
  (attr(el, 'class') ?? '').split(/\s+/).some((c) => KEEP_CLASSES.has(c));

/** Escapes a translation as text content: it can never open a tag or an entity the model made up. */
export const escapeText = (text: string): string =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\u00a0/g, '&nbsp;');

interface Slot {
  start: number;
  end: number;
  /** Whitespace around the translated core, kept as it was (decoded, re-escaped). */
  before: string;
  after: string;
}

export interface HtmlPlan {
  /** The texts to translate, in document order (decoded, trimmed). */
  texts: string[];
  /** The document's text, for language detection. */
  text: string;
  /** The document with `translations[i]` in place of `texts[i]`; everything else as it came. */
  render: (translations: readonly string[]) => string;
}

/**
 * Plans the translation of an HTML fragment: which texts to translate, and how to put
 * their translations back.
 *
 * @example
 * const plan = planHtml('<p>Hello <a class="mention" href="https://x.example/@bob">@bob</a> &amp; friends</p>');
 * plan.texts; // => ['Hello', '& friends']
 * plan.render(['Bonjour', '& amis']);
 * // => '<p>Bonjour <a class="mention" href="https://x.example/@bob">@bob</a> &amp; amis</p>'
 */
export const planHtml = (html: string): HtmlPlan => {
  const slots: Slot[] = [];
  const texts: string[] = [];
  const all: string[] = [];
  const visit = (node: T.ParentNode): void => {
    for (const child of node.childNodes) {
      if (child.nodeName === '#text') {
        const { value, sourceCodeLocation: loc } = child as T.TextNode;
        const core = value.trim();
        if (core) all.push(core);
        // Text with a URL among words is translated whole (Mastodon wraps every URL in a link, kept).
        // No location (a node the parser moved, as in foster parenting): left as it came.
        if (!loc || onlyAtoms(core)) continue;
        const lead = value.length - value.trimStart().length;
        slots.push({
          start: loc.startOffset,
          end: loc.endOffset,
          before: value.slice(0, lead),
          after: value.slice(lead + core.length),
        });
        texts.push(core);
      } else if ('tagName' in child && !keeps(child as T.Element)) {
        visit(child as T.Element);
      }
    }
  };
  visit(parseFragment(html, { sourceCodeLocationInfo: true }));
  return {
    texts,
    text: all.join(' '),
    render: (translations) => {
      if (translations.length !== slots.length) {
        throw new Error(`planHtml: ${translations.length} translations for ${slots.length} texts.`);
      }
      let out = '';
      let at = 0;
      slots.forEach((s, i) => {
        out += html.slice(at, s.start) + escapeText(s.before + translations[i]! + s.after);
        at = s.end;
      });
      return out + html.slice(at);
    },
  };
};

/**
 * Translates the text of an HTML fragment with `translate` (one call for all its texts),
 * keeping the markup byte for byte.
 *
 * @example
 * await translateHtml('<p>Hi <b>there</b></p>', async (t) => t.map((s) => s.toUpperCase()));
 * // => '<p>HI <b>THERE</b></p>'
 */
export const translateHtml = async (
  html: string,
  translate: (texts: string[]) => Promise<string[]>,
): Promise<string> => {
  const plan = planHtml(html);
  return plan.render(plan.texts.length ? await translate(plan.texts) : []);
};
