// Favourite targets: stars the user puts on targets, kept in this browser's localStorage per
// user (not on the server: a favourite is a shortcut, not shared data). The dashboard lists them
// and the command palette puts them first. Shared via setFavourites/useFavourites.
import { createContext } from 'svelte';

type Store = Pick<Storage, 'getItem' | 'setItem'>;

/** `alias/target`: aliases never contain a slash, so the key splits back unambiguously. */
export const favouriteKey = (alias: string, target: string) => `${alias}/${target}`;

export function splitFavourite(key: string): { alias: string; target: string } {
  const i = key.indexOf('/');
  return { alias: key.slice(0, i), target: key.slice(i + 1) };
}

export const storageKey = (userId: string) => `vmo.favourites.${userId}`;

/** The stored list, tolerating anything a previous version or a person may have left there. */
export function readFavourites(store: Store | null, userId: string): string[] {
  try {
    const value: unknown = JSON.parse(store?.getItem(storageKey(userId)) ?? '[]');
    if (!Array.isArray(value)) return [];
    const keys = value.filter((v): v is string => typeof v === 'string' && v.includes('/'));
    return keys.filter((k, i) => keys.indexOf(k) === i);
  } catch {
    return [];
  }
}

function browserStore(): Store | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export class Favourites {
  keys = $state.raw<string[]>([]);
  readonly #userId: string;
  readonly #store: Store | null;

  constructor(userId: string, store: Store | null = browserStore()) {
    this.#userId = userId;
    this.#store = store;
    this.keys = readFavourites(store, userId);
  }

  has(alias: string, target: string): boolean {
    return this.keys.includes(favouriteKey(alias, target));
  }

  /** Stars or unstars; the newest star goes first. */
  toggle(alias: string, target: string): void {
    const key = favouriteKey(alias, target);
    this.keys = this.keys.includes(key) ? this.keys.filter((k) => k !== key) : [key, ...this.keys];
    try {
      this.#store?.setItem(storageKey(this.#userId), JSON.stringify(this.keys));
    } catch {
      // A full or disabled storage keeps the star for this page's life only.
    }
  }
}

const [useFavourites, setFavourites] = createContext<Favourites>();

export { setFavourites, useFavourites };
