/** Where a command writes: people get lines (colour when `colour`, see config.ts `wantsColour`), machines get JSON. */
export class Output {
  readonly json: boolean;
  readonly #colour: boolean;
  constructor(options: { json: boolean; colour: boolean }) {
    this.json = options.json;
    this.#colour = options.colour;
  }

  /** A line for people (suppressed in --json mode); ✓ lines green and ✗ lines red on a colour TTY. */
  line(text = ''): void {
    if (this.json) return;
    process.stdout.write(`${this.paint(text)}\n`);
  }

  /** Paints a report line by its leading mark. */
  paint(text: string): string {
    if (!this.#colour) return text;
    const t = text.trimStart();
    const code = t.startsWith('✓') ? 32 : t.startsWith('✗') ? 31 : t.startsWith('!') ? 33 : t.startsWith('○') ? 2 : 0;
    return code ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  /** The machine-readable result (only in --json mode). */
  result(value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** An error message on stderr (and as {error} JSON in --json mode). */
  error(message: string, code = 'error'): void {
    if (this.json) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    process.stderr.write(`${this.#colour ? `\u001b[31mError:\u001b[0m` : 'Error:'} ${message}\n`);
  }
}
