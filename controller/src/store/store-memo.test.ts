import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { identityHarness } from '../identity/test-support/harness.js';
import { StoreMemo } from './store-memo.js';

describe('the store memo', () => {
  it('forgets an entry when the store changes, when it expires, and after a few seconds', () => {
    let version = 1;
    const memo = new StoreMemo<string>(() => String(version));
    memo.set('a', 'principal', 0, 10_000);
    expect(memo.get('a', 1_000)).toBe('principal');
    version += 1;
    expect(memo.get('a', 1_000)).toBeUndefined();
    memo.set('b', 'principal', 0, 2_000);
    expect(memo.get('b', 1_999)).toBe('principal');
    expect(memo.get('b', 2_000)).toBeUndefined();
    memo.set('c', 'principal', 0, Infinity);
    expect(memo.get('c', 4_999)).toBe('principal');
    expect(memo.get('c', 5_000)).toBeUndefined();
  });

  it('never serves a session or token past a change made by any statement on the store', async () => {
    const { app, addUser, db } = identityHarness();
    const user = await addUser();
    const login = await request(app).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] ?? '';
    const token = await request(app).post('/api/v1/auth/tokens').set('cookie', cookie).send({ name: 'ci' });
    const bearer = `Bearer ${token.body.token}`;
    expect((await request(app).get('/api/v1/me').set('authorization', bearer)).status).toBe(200);
    expect((await request(app).get('/api/v1/me').set('cookie', cookie)).status).toBe(200);
    // straight SQL, as another component or an operator's tool would do it
    db.prepare('UPDATE api_tokens SET revoked_at = ?').run(new Date().toISOString());
    expect((await request(app).get('/api/v1/me').set('authorization', bearer)).status).toBe(401);
    db.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(user.id);
    expect((await request(app).get('/api/v1/me').set('cookie', cookie)).status).toBe(401);
  });
});
