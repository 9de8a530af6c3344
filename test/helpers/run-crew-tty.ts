import { spawnSync } from 'node:child_process';
import { CREW_BIN } from './run-crew.ts';

/**
 * Runs `crew ARGS` on a pseudo-terminal (Python's pty module), answering each prompt in turn (text shown after the
 * previous one) with its answer followed by Enter; `\x03` is sent alone, as Ctrl-C, and `null` only waits for the text; returns the exit code and everything the terminal showed.
 */
export function crewOnTty(args: string[], env: Record<string, string>, answers: Array<[prompt: string, answer: string | null]>): { code: number; output: string } {
  const script = `
import os, pty, sys, json
args, env, answers = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execve(${JSON.stringify(process.execPath)}, [${JSON.stringify(process.execPath)}, ${JSON.stringify(CREW_BIN)}] + args, env)
out = b''
seen = 0
pending = list(answers)
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    while pending and pending[0][0].encode() in out[seen:]:
        prompt, answer = pending.pop(0)
        if answer is None:
            continue  # only waited for it; the next prompt may have come first
        seen = out.index(prompt.encode(), seen) + len(prompt.encode())
        os.write(fd, answer.encode() + (b'' if answer == '\\x03' else b'\\r'))
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({'code': os.WEXITSTATUS(status), 'output': out.decode('utf8', 'replace')}))
`;
  const fullEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', TERM: 'dumb', ...env };
  const run = spawnSync('/usr/bin/python3', ['-c', script, JSON.stringify([args, fullEnv, answers])], { encoding: 'utf8', timeout: 180_000 });
  if (run.status !== 0) throw new Error(`pty helper failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { code: number; output: string };
}

