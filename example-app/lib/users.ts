// The demo's users. A real app has its own user store; the library only needs `authorize`.
export interface User {
  id: string;
  name: string;
}

export const users: readonly User[] = [
  { id: 'alice', name: 'Alice' },
  { id: 'bob', name: 'Bob' },
];

export const userById = (id: string | undefined): User | undefined => users.find((user) => user.id === id);

/** What a user may download from the media tree: their own folder and the shared one. */
export function mayRead(user: User, key: string): boolean {
  return key.startsWith(`users/${user.id}/`) || key.startsWith('shared/');
}
