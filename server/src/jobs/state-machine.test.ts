import { describe, expect, it } from 'vitest';
import { StateMachine } from './state-machine.js';

type Light = 'green' | 'amber' | 'red';
const LIGHT = { green: ['amber'], amber: ['red'], red: ['green'] } as const;

describe('StateMachine', () => {
  it('moves only along the table, and names the move it refuses', () => {
    const light = new StateMachine<Light>('light', 'green', LIGHT);
    light.to('amber');
    light.to('amber'); // staying is always allowed
    expect(light.state).toBe('amber');
    expect(light.is('green', 'amber')).toBe(true);
    expect(() => light.to('green')).toThrow('light: no way from amber to green');
    expect(light.state).toBe('amber');
  });

  it('tries a move and says whether the table allowed it', () => {
    const light = new StateMachine<Light>('light', 'red', LIGHT);
    expect(light.tryTo('amber')).toBe(false);
    expect(light.state).toBe('red');
    expect(light.tryTo('red')).toBe(true);
    expect(light.tryTo('green')).toBe(true);
    expect(light.state).toBe('green');
  });
});
