import { type ApiAnswer, bar, byId, callApi, el, renderError, setupKeyField, storedKey, streamApi } from './common.ts';

/**
 * The playground: one form per capability on the local API, prefilled from the OpenAPI
 * document's examples, each answer drawn (bars for scores) and shown raw in the
 * request/response panel; chat streams tokens into the reply as they arrive.
 */

interface Example {
  value: Record<string, unknown>;
}
type OpenApi = {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { examples?: Record<string, Example> }> } }>
  >;
};
interface Scored {
  label: string;
  score: number;
  scores: Array<{ label: string; score: number }>;
}
interface Detection {
  language: string;
  name: string;
  confidence: number;
  alternatives: Array<{ language: string; name: string; confidence: number }>;
}

// ---- tabs: arrow keys, Home and End move between them (WAI-ARIA tabs pattern)
const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
const select = (tab: HTMLButtonElement, focus = true) => {
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute('aria-selected', String(selected));
    t.tabIndex = selected ? 0 : -1;
    byId(t.getAttribute('aria-controls') ?? '').hidden = !selected;
  }
  if (focus) tab.focus();
  history.replaceState(null, '', `#${tab.id.replace('tab-', '')}`);
};
for (const [i, tab] of tabs.entries()) {
  tab.addEventListener('click', () => select(tab));
  tab.addEventListener('keydown', (e) => {
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    select(tabs[(next + tabs.length) % tabs.length]!);
  });
}
const initial = tabs.find((t) => t.id === `tab-${location.hash.slice(1)}`);
if (initial) select(initial, false);

// ---- examples from the OpenAPI document: the same ones the contract test sends
const exampleOf = (doc: OpenApi, path: string, name: string): Record<string, unknown> | undefined =>
  doc.paths[path]?.post?.requestBody?.content['application/json']?.examples?.[name]?.value;
const prefill = async () => {
  const doc = (await (await fetch('/openapi.json')).json()) as OpenApi;
  const translate = exampleOf(doc, '/v1/translate', 'auto');
  const detect = exampleOf(doc, '/v1/detect', 'text');
  const predict = exampleOf(doc, '/v1/predict', 'text');
  const ensemble = exampleOf(doc, '/v1/predict', 'ensemble');
  const fill = (id: string, value: unknown) => {
    const input = byId<HTMLInputElement | HTMLTextAreaElement>(id);
    if (!input.value && typeof value === 'string') input.value = value;
  };
  fill('tr-text', translate?.text);
  fill('de-text', detect?.text);
  fill('pr-text', predict?.text);
  fill('pr-members', ((ensemble?.ensemble as { members?: string[] } | undefined)?.members ?? []).join(', '));
  return translate?.target_language as string | undefined;
};

// ---- lists that need the key: languages and models
const fillSelect = (select: HTMLSelectElement, options: Array<[string, string]>, keep: string[] = []) => {
  const kept = [...select.options].filter((o) => keep.includes(o.value));
  select.replaceChildren(...kept, ...options.map(([value, text]) => el('option', { text, attrs: { value } })));
};
let preferredTarget: string | undefined;
const loadLists = async () => {
  if (!storedKey()) return;
  const quiet = { quiet: true };
  const [languages, models] = await Promise.all([
    callApi('GET', '/v1/languages', undefined, quiet),
    // The chat box lists the generators only (the list has every task's models).
    callApi('GET', '/v1/models?task=text-generation', undefined, quiet),
  ]);
  if (languages.ok) {
    const list = (languages.body as { languages: Array<{ code: string; name: string }> }).languages;
    const options = list.map((l): [string, string] => [l.code, `${l.name} (${l.code})`]);
    fillSelect(byId('tr-source'), options, ['auto']);
    const target = byId<HTMLSelectElement>('tr-target');
    fillSelect(target, options);
    if (preferredTarget && list.some((l) => l.code === preferredTarget)) target.value = preferredTarget;
  } else {
    renderError(byId('translate-out'), languages);
  }
  if (models.ok) {
    const list = (models.body as { data: Array<{ id: string; version: string }> }).data;
    fillSelect(
      byId('ch-model'),
      list.map((m) => [m.id, `${m.id} (version ${m.version})`]),
    );
  } else {
    renderError(byId('chat-out'), models);
  }
};

/** Runs a form's request with its button disabled; answers or errors go to `out`. */
const run = async (
  form: HTMLFormElement,
  out: HTMLElement,
  act: () => Promise<ApiAnswer>,
  draw: (body: never) => Node[],
) => {
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  if (button) button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  out.replaceChildren(el('p', { className: 'hint', text: 'Working…' }));
  try {
    const answer = await act();
    if (answer.ok) out.replaceChildren(...draw(answer.body as never));
    else renderError(out, answer);
  } catch (error) {
    renderError(out, { status: 0, ok: false, body: { error: { message: `The request failed: ${String(error)}` } } });
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute('aria-busy');
  }
};

const scoreList = (scores: Scored['scores']) =>
  el('ul', { className: 'bars' }, ...scores.map((s) => bar(s.label, s.score)));
const modelLine = (m: { name: string; version: string; alias?: string; canary?: boolean }, cached?: boolean) =>
  el('p', {
    className: 'hint',
    text: `${m.name}@${m.version}${m.alias ? ` via ${m.alias}` : ''}${m.canary ? ' (canary)' : ''}${cached ? ' · cached' : ''}`,
  });
const numberOf = (id: string): number | undefined => {
  const v = byId<HTMLInputElement>(id).value.trim();
  return v === '' ? undefined : Number(v);
};

// ---- translate
byId<HTMLFormElement>('translate-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const source = byId<HTMLSelectElement>('tr-source').value;
  const body = {
    text: byId<HTMLTextAreaElement>('tr-text').value,
    target_language: byId<HTMLSelectElement>('tr-target').value,
    ...(source === 'auto' ? {} : { source_language: source }),
    num_beams: numberOf('tr-beams'),
  };
  void run(
    e.currentTarget as HTMLFormElement,
    byId('translate-out'),
    () => callApi('POST', '/v1/translate', body),
    (out: {
      translations: Array<{ text: string; source_language: string; detected?: { confidence: number } }>;
      model: { name: string; version: string };
    }) =>
      out.translations.flatMap((t) => [
        el('p', { className: 'result', text: t.text }),
        el('p', {
          className: 'hint',
          text: `from ${t.source_language}${t.detected ? ` (detected, ${(t.detected.confidence * 100).toFixed(0)}%)` : ''} · ${out.model.name}@${out.model.version}`,
        }),
      ]),
  );
});

// ---- detect
const detection = (d: Detection, text?: string) =>
  el(
    'div',
    { className: 'card' },
    ...(text ? [el('p', { className: 'quote', text })] : []),
    el(
      'ul',
      { className: 'bars' },
      ...[d, ...d.alternatives].map((c) => bar(`${c.name} (${c.language})`, c.confidence)),
    ),
  );
byId<HTMLFormElement>('detect-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = byId<HTMLTextAreaElement>('de-text').value;
  const lines = text.split('\n').filter((l) => l.trim());
  const many = byId<HTMLInputElement>('de-lines').checked;
  const body = { ...(many ? { texts: lines } : { text }), top_k: numberOf('de-topk') };
  void run(
    e.currentTarget as HTMLFormElement,
    byId('detect-out'),
    () => callApi('POST', '/v1/detect', body),
    (out: Detection & { results?: Detection[] }) =>
      out.results ? out.results.map((d, i) => detection(d, lines[i])) : [detection(out)],
  );
});

// ---- predict: one model, A/B compare, or an ensemble
const modes = ['single', 'compare', 'ensemble'] as const;
const mode = () =>
  (document.querySelector<HTMLInputElement>('input[name="pr-mode"]:checked')?.value ??
    'single') as (typeof modes)[number];
for (const m of modes) {
  byId(`pr-mode-${m}`).addEventListener('change', () => {
    for (const other of modes) byId(`pr-${other}`).hidden = other !== mode();
  });
}
byId<HTMLFormElement>('predict-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = byId<HTMLTextAreaElement>('pr-text').value;
  const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
  const form = e.currentTarget as HTMLFormElement;
  const out = byId('predict-out');
  if (mode() === 'compare') {
    const body = {
      text,
      ...(value('pr-compare-model') ? { model: value('pr-compare-model') } : {}),
      versions: [value('pr-version-a'), value('pr-version-b')],
    };
    void run(
      form,
      out,
      () => callApi('POST', '/v1/predict/compare', body),
      (r: {
        versions: { a: { name: string; version: string }; b: { name: string; version: string } };
        results: Array<{ a: Scored; b: Scored; agree: boolean }>;
      }) => [
        el(
          'div',
          { className: 'grid2' },
          ...(['a', 'b'] as const).map((side) =>
            el(
              'div',
              { className: 'card' },
              el('h3', { text: `${side.toUpperCase()}: version ${r.versions[side].version}` }),
              scoreList(r.results[0]![side].scores),
            ),
          ),
        ),
        el('p', { className: 'result', text: r.results[0]!.agree ? 'The versions agree.' : 'The versions disagree.' }),
      ],
    );
    return;
  }
  const ensemble =
    mode() === 'ensemble'
      ? {
          members: value('pr-members')
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean),
          method: byId<HTMLSelectElement>('pr-method').value,
        }
      : undefined;
  const body = { text, ...(ensemble ? { ensemble } : value('pr-model') ? { model: value('pr-model') } : {}) };
  void run(
    form,
    out,
    () => callApi('POST', '/v1/predict', body),
    (
      r: Scored & {
        cached?: boolean;
        model?: { name: string; version: string; alias?: string; canary?: boolean };
        members?: Array<{ model: { name: string; version: string }; label?: string; score?: number; error?: string }>;
      },
    ) => [
      el('p', { className: 'result', text: `${r.label} (${(r.score * 100).toFixed(1)}%)` }),
      scoreList(r.scores),
      ...(r.model ? [modelLine(r.model, r.cached)] : []),
      ...(r.members
        ? [
            el('h3', { text: 'Members' }),
            el(
              'ul',
              {},
              ...r.members.map((m) =>
                el('li', {
                  text: `${m.model.name}@${m.model.version}: ${m.error ? `left out (${m.error})` : `${m.label} (${((m.score ?? 0) * 100).toFixed(1)}%)`}`,
                }),
              ),
            ),
          ]
        : []),
    ],
  );
});

// ---- chat: the conversation is kept here; each reply streams in token by token
const conversation: Array<{ role: 'user' | 'assistant'; content: string }> = [];
const log = byId('ch-log');
const stop = byId<HTMLButtonElement>('ch-stop');
let controller: AbortController | undefined;
const bubble = (role: string, text = '') => {
  const b = el(
    'div',
    { className: `msg ${role}`, attrs: { 'data-role': role } },
    el('span', { className: 'who', text: `${role}: ` }),
  );
  const content = el('span', { className: 'content' });
  if (text) content.append(text);
  b.append(content);
  log.append(b);
  return { b, content };
};
byId<HTMLTextAreaElement>('ch-input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    byId<HTMLFormElement>('chat-form').requestSubmit();
  }
});
byId('ch-clear').addEventListener('click', () => {
  conversation.length = 0;
  log.replaceChildren();
});
stop.addEventListener('click', () => controller?.abort());
byId<HTMLFormElement>('chat-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = byId<HTMLTextAreaElement>('ch-input');
  const text = input.value.trim();
  if (!text) return;
  const out = byId('chat-out');
  const send = byId<HTMLButtonElement>('ch-send');
  const system = byId<HTMLInputElement>('ch-system').value.trim();
  conversation.push({ role: 'user', content: text });
  bubble('user', text);
  input.value = '';
  const body = {
    model: byId<HTMLSelectElement>('ch-model').value,
    messages: [...(system ? [{ role: 'system', content: system }] : []), ...conversation],
    max_tokens: numberOf('ch-max'),
    temperature: numberOf('ch-temp'),
    ...(numberOf('ch-seed') === undefined ? {} : { seed: numberOf('ch-seed') }),
    stream: byId<HTMLInputElement>('ch-stream').checked,
  };
  const reply = bubble('assistant');
  reply.b.dataset.state = 'streaming';
  out.replaceChildren();
  send.disabled = true;
  controller = new AbortController();
  stop.disabled = !body.stream;
  let answer: ApiAnswer | undefined;
  try {
    if (body.stream) {
      // One text node per token: the reply visibly grows as events arrive.
      answer = await streamApi(
        '/v1/chat/completions',
        body,
        (data) => {
          const chunk = data as { choices?: Array<{ delta?: { content?: string } }>; error?: { message: string } };
          if (chunk.error) renderError(out, { status: 200, ok: false, body: chunk });
          const token = chunk.choices?.[0]?.delta?.content;
          if (token) reply.content.append(document.createTextNode(token));
        },
        controller.signal,
      );
    } else {
      answer = await callApi('POST', '/v1/chat/completions', body);
      const content = (answer.body as { choices?: Array<{ message: { content: string } }> }).choices?.[0]?.message
        .content;
      if (answer.ok && content) reply.content.append(content);
    }
    if (!answer.ok) renderError(out, answer);
  } catch (error) {
    if ((error as Error).name !== 'AbortError') {
      renderError(out, { status: 0, ok: false, body: { error: { message: `The request failed: ${String(error)}` } } });
    }
  } finally {
    reply.b.dataset.state = 'done';
    if (answer?.ok) conversation.push({ role: 'assistant', content: reply.content.textContent ?? '' });
    else if (!reply.content.textContent) reply.b.remove();
    send.disabled = false;
    stop.disabled = true;
    input.focus();
  }
});

// ---- start
setupKeyField(() => void loadLists());
void prefill().then((target) => {
  preferredTarget = target;
  return loadLists();
});
