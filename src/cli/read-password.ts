import { createInterface } from 'node:readline';
import { UsageError } from './cli-command.ts';

/**
 * Reads a new password: on a terminal it prompts without echo, twice when `confirmPrompt` is given, and refuses two
 * different answers; otherwise it takes the first line of stdin (so scripts can pipe it in, and it never appears in
 * the process list). An empty answer is a UsageError saying no password was given (not a password-policy message).
 * @example const password = await readPassword('Password for ada: ', { confirmPrompt: 'Repeat the password: ' });
 */
export async function readPassword(prompt: string, options: { confirmPrompt?: string } = {}): Promise<string> {
  if (!process.stdin.isTTY) {
    let data = '';
    for await (const chunk of process.stdin) data += chunk;
    const password = data.split(/\r?\n/)[0] ?? '';
    if (password === '') throw new UsageError('no password was given: pipe it in as the first line of stdin, or run the command in a terminal to be asked for it');
    return password;
  }
  const password = await askHidden(prompt);
  if (password === '') throw new UsageError('no password was given: type it at the prompt');
  if (options.confirmPrompt !== undefined && (await askHidden(options.confirmPrompt)) !== password) {
    throw new UsageError('the two passwords differ; nothing was changed');
  }
  return password;
}

/** Asks on the terminal without echoing what is typed. */
function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const mute = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stdout.write(prompt);
    mute._writeToOutput = () => {};
    rl.question('', (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    });
  });
}
