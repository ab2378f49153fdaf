import { describe, expect, it } from 'vitest';
import {
  Favourites,
  favouriteKey,
  readFavourites,
  splitFavourite,
  storageKey,
} from './favourites.svelte.js';

function memoryStore() {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
  };
}

describe(Favourites.name, () => {
  it('stars and unstars a target, newest first, and keeps it per user', () => {
    const store = memoryStore();
    const dana = new Favourites('u1', store);
    dana.toggle('app', 'build');
    dana.toggle('app', 'test');
    expect(dana.keys).toEqual(['app/test', 'app/build']);
    expect(dana.has('app', 'build')).toBe(true);
    dana.toggle('app', 'build');
    expect(dana.has('app', 'build')).toBe(false);

    expect(new Favourites('u1', store).keys).toEqual(['app/test']);
    expect(new Favourites('u2', store).keys).toEqual([]);
  });

  it('splits a key back at the first slash (targets may hold one, aliases cannot)', () => {
    expect(splitFavourite(favouriteKey('app', 'dist/app.tar'))).toEqual({
      alias: 'app',
      target: 'dist/app.tar',
    });
  });

  it('ignores what it cannot read and drops duplicates', () => {
    const store = memoryStore();
    store.data.set(storageKey('u1'), 'not json');
    expect(readFavourites(store, 'u1')).toEqual([]);
    store.data.set(storageKey('u1'), '{"a":1}');
    expect(readFavourites(store, 'u1')).toEqual([]);
    store.data.set(storageKey('u1'), '["a/b", 3, "nosep", "a/b", "c/d"]');
    expect(readFavourites(store, 'u1')).toEqual(['a/b', 'c/d']);
  });

  it('still works for the page when storage refuses to write', () => {
    const full = {
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    const f = new Favourites('u1', full);
    f.toggle('app', 'build');
    expect(f.has('app', 'build')).toBe(true);
  });
});
