// See https://svelte.dev/docs/kit/types#app.d.ts for what these interfaces are for.
declare global {
  namespace App {
    interface Error {
      message: string;
      /** The API's error code (SPEC §2) when the error came from the server. */
      code?: string;
    }
  }
}

export {};
