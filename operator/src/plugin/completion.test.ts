// Completion: kubectl's protocol for plugins (words in, candidates and a directive out), and the
// shell scripts of `completion`, both read from the program's own commands.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { completeWords, completionScript, DIRECTIVE, flagsIn } from './completion.ts';

const program = new Command('kubectl-flotilla').option('-n, --namespace <name>').option('--context <name>');
program.command('lint').option('-o, --output <format>');
program.command('get').option('-w, --watch');
program.command('promote').option('--full');
program.command('set');
program.command('completion');

describe('completion', () => {
  it('offers the commands, then their options', () => {
    assert.deepEqual(completeWords(program, ['']).candidates, ['lint', 'get', 'promote', 'set', 'completion']);
    assert.deepEqual(completeWords(program, ['pr']), { candidates: ['promote'], directive: DIRECTIVE.noFiles });
    assert.deepEqual(completeWords(program, ['promote', '--f']).candidates, ['--full']);
    assert.deepEqual(completeWords(program, ['get', '--']).candidates, ['--watch', '--namespace', '--context']);
  });

  it('asks for names from the cluster where a name goes, and files for lint', () => {
    assert.deepEqual(completeWords(program, ['promote', '-n', 'shop', 'or']), {
      candidates: [],
      directive: DIRECTIVE.noFiles,
      names: 'rollouts',
    });
    assert.deepEqual(completeWords(program, ['get', '']), {
      candidates: ['ms', 'rollout'],
      directive: DIRECTIVE.noFiles,
      names: 'microservices',
    });
    assert.equal(completeWords(program, ['get', 'rollout', '']).names, 'rollouts');
    assert.equal(completeWords(program, ['promote', 'orders', '']).names, undefined);
    assert.equal(completeWords(program, ['set', '']).candidates[0], 'image');
    assert.equal(completeWords(program, ['set', 'image', '']).names, 'microservices');
    assert.deepEqual(completeWords(program, ['lint', 'sam']), { candidates: [], directive: DIRECTIVE.files });
  });

  it('reads the cluster options among the words', () => {
    assert.deepEqual(flagsIn(['promote', '--context', 'prod', '-n', 'shop', '']), {
      context: 'prod',
      namespace: 'shop',
    });
  });

  it('writes a script for each shell', () => {
    assert.match(completionScript(program, 'bash'), /complete -F _kubectl_flotilla kubectl-flotilla/);
    assert.match(completionScript(program, 'zsh'), /^#compdef kubectl-flotilla/);
    assert.match(completionScript(program, 'fish'), /-a promote/);
  });
});
