import { describe, expect, it } from 'vitest';
import { parseAnnotations } from './annotations.js';

describe(parseAnnotations.name, () => {
  it('reads params, confirm, exclusive and interactive, and leaves the words as the description', () => {
    expect(
      parseAnnotations(
        'Deploy the app @param ENV=staging|prod @param TAG @param REGION=eu-west-1 @confirm @exclusive',
      ),
    ).toEqual({
      description: 'Deploy the app',
      params: [
        { name: 'ENV', choices: ['staging', 'prod'], default: 'staging', required: false },
        { name: 'TAG', required: true },
        { name: 'REGION', default: 'eu-west-1', required: false },
      ],
      confirm: true,
      exclusive: true,
      problems: [],
    });
    expect(parseAnnotations('A console @interactive')).toEqual({
      description: 'A console',
      interactive: true,
      problems: [],
    });
  });

  it('keeps plain descriptions as they are', () => {
    expect(parseAnnotations('Build   everything, fast')).toEqual({
      description: 'Build everything, fast',
      problems: [],
    });
    expect(parseAnnotations('')).toEqual({ description: '', problems: [] });
  });

  it.each([
    ['@param', '@param needs a NAME'],
    ['@param 1X', '"1X" is not a make variable name'],
    ['@param X=a|b;c', '"b;c" is not an allowed value'],
    ['@param X=-rf', '"-rf" is not an allowed value'],
    ['@param X @param X=1', '@param X is declared twice'],
  ])('reports %j without failing the target', (text, problem) => {
    const a = parseAnnotations(`Do it ${text}`);
    expect(a.description).toBe('Do it');
    expect(a.problems.join('\n')).toContain(problem);
  });
});
