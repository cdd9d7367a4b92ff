import type { ReactNode } from 'react';

export const metadata = { title: 'next-downloadview example' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', margin: '2rem', maxWidth: '60rem' }}>{children}</body>
    </html>
  );
}
