import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { errorMessage, oneOf } from '#runtime/errors.ts';
import { configureTransformers } from '#runtime/onnx.ts';
import { CommandError, UsageError } from './common.ts';

/**
 * Chat templates `models import --chat-template` can set on a tokenizer that has none
 * (Jinja, as `tokenizer_config.json`'s `chat_template`). Each renders the roles the API
 * accepts and, with `add_generation_prompt`, opens the assistant's turn.
 */
export const CHAT_TEMPLATES = {
  chatml:
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'llama-3':
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + (message['content'] | trim) + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  zephyr:
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
} as const;

/** `--chat-template`'s value: a preset's name, or a file holding a Jinja template. */
export const readChatTemplate = async (value: string): Promise<string> => {
  if (Object.hasOwn(CHAT_TEMPLATES, value)) return CHAT_TEMPLATES[value as keyof typeof CHAT_TEMPLATES];
  const text = await readFile(value, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new UsageError(
      `import: --chat-template ${JSON.stringify(value)} is neither a preset (${oneOf(Object.keys(CHAT_TEMPLATES))}) nor a readable file.`,
    );
  }
  if (!text.trim()) throw new UsageError(`import: --chat-template file ${value} is empty.`);
  return text.trim();
};

/**
 * Sets `template` in a bundle's `tokenizer_config.json` when it has no chat template, then
 * renders a sample chat with it through the tokenizer (as the API will), so a template that
 * does not render fails the import rather than a request. Returns false when the tokenizer
 * already had one (kept).
 *
 * @example
 * await setChatTemplate('.data/models/gpt2/1', CHAT_TEMPLATES.chatml); // => true
 */
export const setChatTemplate = async (dir: string, template: string): Promise<boolean> => {
  const file = path.join(dir, 'tokenizer_config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (config.chat_template) return false;
  await writeFile(file, `${JSON.stringify({ ...config, chat_template: template }, null, 2)}\n`);
  try {
    configureTransformers();
    const tokenizer = await AutoTokenizer.from_pretrained(path.resolve(dir), { local_files_only: true });
    tokenizer.apply_chat_template(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      { add_generation_prompt: true, tokenize: false },
    );
  } catch (error) {
    throw new CommandError(`import: the chat template does not render: ${errorMessage(error)}`, { cause: error });
  }
  return true;
};
