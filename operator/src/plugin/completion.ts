// `kubectl flotilla completion bash|zsh|fish`: completion of the commands and their options, read
// from the program itself so that it cannot fall behind. (kubectl completes `kubectl flotilla`
// through a `kubectl_complete-flotilla` executable; these scripts complete `kubectl-flotilla`.)
import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Words {
  commands: { name: string; description: string; options: string[] }[];
  globals: string[];
}

function wordsOf(program: Command): Words {
  const flagsOf = (command: Command) =>
    command.options.flatMap((option) => [option.short, option.long].filter((f): f is string => Boolean(f)));
  return {
    commands: program.commands.map((command) => ({
      name: command.name(),
      description: command.description().split(/[.:]/)[0] ?? '',
      options: flagsOf(command),
    })),
    globals: flagsOf(program),
  };
}

export function completionScript(program: Command, shell: Shell): string {
  const { commands, globals } = wordsOf(program);
  const names = commands.map((c) => c.name).join(' ');
  if (shell === 'bash') {
    const cases = commands.map((c) => `    ${c.name}) opts="${[...c.options, ...globals].join(' ')}" ;;`).join('\n');
    return `# bash completion for kubectl-flotilla
_kubectl_flotilla() {
  local cur=\${COMP_WORDS[COMP_CWORD]} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names} ${globals.join(' ')}" -- "$cur")); return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts="${globals.join(' ')}" ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _kubectl_flotilla kubectl-flotilla
`;
  }
  if (shell === 'zsh') {
    const described = commands.map((c) => `    '${c.name}:${c.description.replaceAll("'", '')}'`).join('\n');
    return `#compdef kubectl-flotilla
_kubectl_flotilla() {
  local -a commands
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then _describe 'command' commands; else _files; fi
}
compdef _kubectl_flotilla kubectl-flotilla
`;
  }
  const lines = commands.map(
    (c) =>
      `complete -c kubectl-flotilla -n '__fish_use_subcommand' -a ${c.name} -d '${c.description.replaceAll("'", '')}'`,
  );
  for (const c of commands) {
    for (const option of c.options.filter((o) => o.startsWith('--'))) {
      lines.push(`complete -c kubectl-flotilla -n '__fish_seen_subcommand_from ${c.name}' -l ${option.slice(2)}`);
    }
  }
  return `# fish completion for kubectl-flotilla\n${lines.join('\n')}\n`;
}

/** Cobra's directives, which kubectl's completion reads from the last line (`:4`). */
export const DIRECTIVE = { files: 0, noFiles: 4 } as const;

/** What the word being typed may be, for kubectl's plugin completion (`kubectl_complete-flotilla`). */
export interface Completion {
  candidates: string[];
  directive: number;
  /** Set when the candidates are names of this kind, to be read from the cluster. */
  names?: 'microservices' | 'rollouts';
}

const NAMED: Record<string, Completion['names']> = {
  get: 'microservices',
  status: 'rollouts',
  promote: 'rollouts',
  abort: 'rollouts',
  retry: 'rollouts',
  pause: 'rollouts',
  resume: 'rollouts',
};

/**
 * The completions of the last of `words` (the words after `flotilla`, the last one being typed,
 * possibly empty): commands, then options, then names (filled in by the caller from the cluster).
 */
export function completeWords(program: Command, words: readonly string[]): Completion {
  const { commands, globals } = wordsOf(program);
  const typed = words.at(-1) ?? '';
  const before = words.slice(0, -1).filter((word, i, all) => !word.startsWith('-') && !isOptionValue(all, i));
  const command = commands.find((c) => c.name === before[0]);
  const starting = (candidates: string[]) => candidates.filter((c) => c.startsWith(typed));
  if (typed.startsWith('-')) {
    return { candidates: starting([...(command?.options ?? []), ...globals]), directive: DIRECTIVE.noFiles };
  }
  if (!command) return { candidates: starting(commands.map((c) => c.name)), directive: DIRECTIVE.noFiles };
  if (command.name === 'lint') return { candidates: [], directive: DIRECTIVE.files };
  if (command.name === 'completion') return { candidates: starting([...SHELLS]), directive: DIRECTIVE.noFiles };
  if (command.name === 'set') {
    if (before.length === 1) return { candidates: starting(['image']), directive: DIRECTIVE.noFiles };
    return before.length === 2
      ? { candidates: [], directive: DIRECTIVE.noFiles, names: 'microservices' }
      : { candidates: [], directive: DIRECTIVE.noFiles };
  }
  const names = NAMED[command.name];
  if (!names) return { candidates: [], directive: DIRECTIVE.noFiles };
  if (command.name === 'get' && before.length === 2 && ['ms', 'rollout'].includes(before[1] ?? '')) {
    return { candidates: [], directive: DIRECTIVE.noFiles, names: before[1] === 'ms' ? 'microservices' : 'rollouts' };
  }
  if (before.length > 1) return { candidates: [], directive: DIRECTIVE.noFiles };
  const kinds = command.name === 'get' ? starting(['ms', 'rollout']) : [];
  return { candidates: kinds, directive: DIRECTIVE.noFiles, names };
}

/** Options that take a value: the word after them is that value, not an argument. */
const VALUED = new Set([
  '-n',
  '--namespace',
  '--context',
  '--kubeconfig',
  '-o',
  '--output',
  '--timeout',
  '--until',
  '--wait',
]);

function isOptionValue(words: readonly string[], index: number): boolean {
  return index > 0 && VALUED.has(words[index - 1] ?? '');
}

/** The kubeconfig options among the words, for reading names from the right cluster and namespace. */
export function flagsIn(words: readonly string[]): { kubeconfig?: string; context?: string; namespace?: string } {
  const value = (...names: string[]) => {
    const index = words.findIndex((word) => names.includes(word));
    return index >= 0 ? words[index + 1] : undefined;
  };
  const namespace = value('-n', '--namespace');
  const context = value('--context');
  const kubeconfig = value('--kubeconfig');
  return {
    ...(namespace ? { namespace } : {}),
    ...(context ? { context } : {}),
    ...(kubeconfig ? { kubeconfig } : {}),
  };
}
