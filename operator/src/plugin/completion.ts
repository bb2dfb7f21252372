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
