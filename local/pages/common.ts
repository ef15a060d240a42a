/**
 * What every local page shares: the API key (entered once, kept in this browser's
 * localStorage), calls to the local API that show their request and response, and the
 * API's error envelopes rendered as the API returned them.
 */

const KEY_STORAGE = 'hf-serve.apiKey';

export const storedKey = (): string => localStorage.getItem(KEY_STORAGE) ?? '';

export const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

/** Creates an element with text and attributes. */
export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { text?: string; className?: string; attrs?: Record<string, string> } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag);
  if (props.text !== undefined) node.textContent = props.text;
  if (props.className) node.className = props.className;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
};

/** The header's key field: saved as it is typed, shown on demand, announced when saved. */
export const setupKeyField = (onChange: (key: string) => void = () => undefined): void => {
  const input = document.getElementById('api-key') as HTMLInputElement | null;
  if (!input) return;
  const toggle = byId<HTMLButtonElement>('key-toggle');
  const status = byId('key-status');
  input.value = storedKey();
  // Enter in the field must not reload the page: the key is saved as it is typed.
  input.form?.addEventListener('submit', (e) => e.preventDefault());
  let timer: number | undefined;
  input.addEventListener('input', () => {
    localStorage.setItem(KEY_STORAGE, input.value.trim());
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      status.textContent = input.value.trim() ? 'Key saved in this browser.' : 'No key.';
      onChange(input.value.trim());
    }, 400);
  });
  toggle.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    toggle.textContent = show ? 'Hide' : 'Show';
    toggle.setAttribute('aria-pressed', String(show));
  });
};

export interface ApiAnswer {
  status: number;
  ok: boolean;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: unknown;
}

const exchange = () => ({
  request: document.getElementById('ex-request'),
  response: document.getElementById('ex-response'),
  status: document.getElementById('ex-status'),
});

const pretty = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

const showRequest = (method: string, path: string, body: unknown): void => {
  const ex = exchange();
  if (!ex.request) return;
  const lines = [`${method} ${path}`, `x-api-key: ${storedKey() ? '••••••' : '(none)'}`];
  if (body !== undefined) lines.push('content-type: application/json', '', pretty(body));
  ex.request.textContent = lines.join('\n');
  if (ex.response) ex.response.textContent = '…';
  if (ex.status) ex.status.textContent = '';
};

const showResponse = (res: Response, text: string): void => {
  const ex = exchange();
  if (ex.status) ex.status.textContent = `${res.status} ${res.statusText}`;
  if (!ex.response) return;
  const headers = ['content-type', 'x-request-id', 'retry-after']
    .map((h) => [h, res.headers.get(h)] as const)
    .filter(([, v]) => v !== null)
    .map(([h, v]) => `${h}: ${v}`);
  ex.response.textContent = `${headers.join('\n')}\n\n${text}`;
};

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/**
 * Calls the local API with the stored key; the exchange panel shows both sides unless
 * `quiet` (the lists a page loads for its forms).
 */
export const callApi = async (
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  { quiet = false } = {},
): Promise<ApiAnswer> => {
  if (!quiet) showRequest(method, path, body);
  const res = await fetch(path, {
    method,
    headers: { 'x-api-key': storedKey(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = parse(text);
  if (!quiet) showResponse(res, typeof parsed === 'string' ? text : pretty(parsed));
  return { status: res.status, ok: res.ok, body: parsed };
};

/**
 * POSTs and reads Server-Sent Events as they arrive (fetch and a stream reader:
 * EventSource cannot send the key header). `onEvent` gets each `data:` payload parsed;
 * a JSON answer (an error before the stream started) is returned as it came.
 */
export const streamApi = async (
  path: string,
  body: unknown,
  onEvent: (data: unknown) => void,
  signal: AbortSignal,
): Promise<ApiAnswer> => {
  showRequest('POST', path, body);
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'x-api-key': storedKey(), 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const text = await res.text();
    showResponse(res, text);
    return { status: res.status, ok: res.ok, body: parse(text) };
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let raw = '';
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    raw += value;
    showResponse(res, raw);
    pending += value;
    const events = pending.split('\n\n');
    pending = events.pop() ?? '';
    for (const event of events) {
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data && data !== '[DONE]') onEvent(parse(data));
    }
  }
  return { status: res.status, ok: true, body: raw };
};

/** The API's error as it returned it: status, message, and each detail. */
export const renderError = (out: HTMLElement, answer: ApiAnswer): void => {
  const error = (answer.body as { error?: { message?: string; code?: string; details?: unknown } })?.error;
  const box = el('div', { className: 'error', attrs: { role: 'alert' } });
  box.append(el('strong', { text: `${answer.status}${error?.code ? ` ${error.code}` : ''}` }));
  box.append(el('p', { text: error?.message ?? pretty(answer.body) }));
  if (Array.isArray(error?.details)) {
    const list = el('ul');
    for (const d of error.details as Array<{ field?: string; message?: string }>) {
      list.append(el('li', { text: d.field ? `${d.field}: ${d.message}` : pretty(d) }));
    }
    box.append(list);
  }
  out.replaceChildren(box);
};

/** A labelled bar for a probability: the text carries the value, the bar only shows it. */
export const bar = (label: string, value: number): HTMLLIElement => {
  const fill = el('span', { className: 'bar-fill' });
  fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
  return el(
    'li',
    { className: 'bar-row' },
    el('span', { className: 'bar-label', text: label }),
    el('span', { className: 'bar', attrs: { 'aria-hidden': 'true' } }, fill),
    el('span', { className: 'bar-value', text: `${(value * 100).toFixed(1)}%` }),
  );
};
