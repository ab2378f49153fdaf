// Personal tokens travel as `Authorization: Bearer <token>`, for HTTP and Socket.io alike.

/** The value of an `Authorization: Bearer …` header, or null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}
