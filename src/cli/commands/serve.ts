import type { CliCommand } from '../cli-command.ts';

/** `crew serve [--no-migrate]`: applies pending migrations (printing the report), then listens. */
export const serveCommand: CliCommand = {
  name: 'serve',
  description: 'apply pending migrations, then serve the web app (PORT/HOST)',
  options: [['--no-migrate', 'do not apply pending migrations first']],
  async run(ctx, _args, opts) {
    const { serve } = await import('../../main.ts');
    await serve({ config: ctx.config(), migrate: opts.migrate !== false, print: (line) => ctx.out.line(line) });
    return 0;
  },
};
