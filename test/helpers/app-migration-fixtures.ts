import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run-crew.ts';

// The app's own migrations of issue 13, one per format, exactly as docs/MIGRATION_GUIDE.md shows them ("Writing your
// own migrations"): tests write them into folders outside the repository, so the guide's examples cannot go stale.

/** A fenced block whose first line is `-- migrations/NAME` or `// migrations/NAME`: that file's path and text. */
export function guideMigrationFile(block: string): { path: string; text: string } | null {
  const match = /^(?:--|\/\/) (migrations\/[\w.-]+)\n/.exec(block);
  return match ? { path: match[1]!, text: block } : null;
}

function fromGuide(name: string): string {
  const guide = readFileSync(join(ROOT, 'docs', 'MIGRATION_GUIDE.md'), 'utf8');
  for (const block of guide.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)) {
    const file = guideMigrationFile(block[1]!);
    if (file?.path === `migrations/${name}`) return file.text;
  }
  throw new Error(`docs/MIGRATION_GUIDE.md shows no migrations/${name}`);
}

/** Plain SQL, dbmate-style: adds users.phone; `-- expects` lets `crew db verify` check it. */
export const ADD_PHONE_SQL = fromGuide('0001_add_phone.sql');

/** TypeScript: `import type` from kysely and crew erased (nothing installed); db and ctx (ctx.sql, ctx.dialect) as arguments. */
export const NOTES_TS = fromGuide('0002_notes.ts');

/** JavaScript module: adds notes.pinned with a constant default. */
export const PINNED_MJS = fromGuide('0003_pinned_notes.mjs');
