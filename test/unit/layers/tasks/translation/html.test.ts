import { describe, expect, it } from 'vitest';
import { escapeText, planHtml, translateHtml } from '#tasks/translation/html.ts';

/** A fake translator: upper-cases and brackets each text, and records what it was given. */
const fake = () => {
  const calls: string[][] = [];
  const translate = async (texts: string[]) => {
    calls.push(texts);
    return texts.map((t) => `[${t.toUpperCase()}]`);
  };
  return { calls, translate };
};

/** Mastodon's status HTML: paragraphs, <br>, a mention, a hashtag, a shortened link with a query string. */
const STATUS =
  '<p>Hello <span class="h-card" translate="no"><a href="https://social.example/@bob" class="u-url mention">@<span>bob</span></a></span>, see ' +
  '<a href="https://example.com/page?a=1&amp;b=2" target="_blank" rel="nofollow noopener noreferrer"><span class="invisible">https://</span>' +
  '<span class="ellipsis">example.com/page?a=1&amp;b=</span><span class="invisible">2</span></a><br>' +
  'Tom &amp; Jerry&nbsp;are <b>very <i>funny</i></b>!</p><p><a href="https://social.example/tags/cats" class="mention hashtag" rel="tag">#<span>cats</span></a> forever</p>';

describe('translateHtml', () => {
  it('translates each text node once, in document order, and keeps every byte of markup around them', async () => {
    const { calls, translate } = fake();

    const out = await translateHtml(STATUS, translate);

    expect(calls).toEqual([['Hello', ', see', 'Tom & Jerry\u00a0are', 'very', 'funny', 'forever']]);
    expect(out).toBe(
      STATUS.replace('Hello ', '[HELLO] ')
        .replace(', see ', '[, SEE] ')
        .replace('Tom &amp; Jerry&nbsp;are ', '[TOM &amp; JERRY&nbsp;ARE] ')
        .replace('very ', '[VERY] ')
        .replace('funny', '[FUNNY]')
        .replace(' forever', ' [FOREVER]'),
    );
  });

  it('never translates mentions, hashtags, URLs, code, scripts, styles or attribute values', async () => {
    const { calls, translate } = fake();
    const html =
      '<p title="Hello there" data-x="word">Text <code>const hello = 1</code> <pre>keep me</pre>' +
      '<script>alert("hello")</script><style>p { color: red }</style> https://example.com/x?q=1 ' +
      '<span class="notranslate">brand</span> @alice@example.com #tag www.example.org</p>';

    const out = await translateHtml(html, translate);

    expect(calls).toEqual([['Text']]);
    expect(out).toBe(html.replace('>Text ', '>[TEXT] '));
  });

  it('answers untrusted markup no more dangerous than it came: scripts and handlers untouched, translations escaped', async () => {
    const html =
      '<img src="x" onerror="alert(1)"><p onclick="steal()">Click &lt;script&gt;alert(2)&lt;/script&gt; here</p><script>document.write("hi")</script>';
    // A hostile model output: it tries to open a tag and an entity.
    const out = await translateHtml(html, async (texts) => texts.map((t) => `${t} <img src=y onerror=alert(3)> &amp;`));

    expect(out).toBe(
      '<img src="x" onerror="alert(1)"><p onclick="steal()">Click &lt;script&gt;alert(2)&lt;/script&gt; here &lt;img src=y onerror=alert(3)&gt; &amp;amp;</p><script>document.write("hi")</script>',
    );
    expect(out.match(/<script>/g)).toHaveLength(1);
    expect(out.match(/onerror=/g)).toHaveLength(2); // the original attribute, and escaped text
    expect(out).not.toContain('<img src=y');
  });

  it('keeps malformed markup, comments and unclosed tags as they came', async () => {
    const html = '<!-- note --><div><p>One<p>Two</div><b>unclosed <i>nest</b> tail &copy; 2024';
    const { translate } = fake();

    const out = await translateHtml(html, translate);

    expect(out).toBe('<!-- note --><div><p>[ONE]<p>[TWO]</div><b>[UNCLOSED] <i>[NEST]</b> [TAIL © 2024]');
  });

  it('does not call the translator for markup without text', async () => {
    const { calls, translate } = fake();

    expect(await translateHtml('<p><br></p><a href="https://x.example">https://x.example</a>', translate)).toBe(
      '<p><br></p><a href="https://x.example">https://x.example</a>',
    );
    expect(calls).toEqual([]);
  });
});

describe('planHtml', () => {
  it('gives the text for language detection (not the code) and refuses a wrong number of translations', () => {
    const plan = planHtml('<p>Bonjour <b>tout le monde</b></p><code>x</code>');

    expect(plan.text).toBe('Bonjour tout le monde');
    expect(() => plan.render(['a'])).toThrow(/1 translations for 2 texts/);
  });
});

describe('escapeText', () => {
  it('escapes what could start markup or an entity, and no-break spaces', () => {
    expect(escapeText('a < b & c > d\u00a0e "f"')).toBe('a &lt; b &amp; c &gt; d&nbsp;e "f"');
  });
});
