import { CampusClient, CampusError, errorFromResponse } from '../api';

function reply(status: number, body: string): Promise<Response> {
  return Promise.resolve(new Response(body, { status }));
}

describe('CampusClient', () => {
  it('builds URLs under the server part', () => {
    const client = new CampusClient('/user/alice', () => reply(200, '{}'));
    expect(client.url('campus', '/me')).toBe('/user/alice/nbcampus/campus/api/v1/me');
    expect(client.url('grader', 'submissions')).toBe('/user/alice/nbcampus/grader/api/v1/submissions');
  });

  it('sends JSON bodies and parses JSON answers', async () => {
    const seen: RequestInit[] = [];
    const client = new CampusClient('/', (_url, init) => {
      seen.push(init);
      return reply(201, '{"ok": true}');
    });
    await expect(client.post('campus', 'x', { a: 1 })).resolves.toEqual({ ok: true });
    expect(seen[0].method).toBe('POST');
    expect(seen[0].body).toBe('{"a":1}');
  });

  it('turns service errors into readable CampusErrors', async () => {
    const client = new CampusClient('/', () =>
      reply(409, '{"code": "CONFLICT", "message": "lesson 3 is already unlocked"}')
    );
    const err: CampusError = await client.get('campus', 'x').catch(e => e);
    expect(err).toBeInstanceOf(CampusError);
    expect(err.message).toBe('lesson 3 is already unlocked');
    expect(err.code).toBe('CONFLICT');
    expect(err.status).toBe(409);
  });

  it('explains answers that are not JSON, and network failures', async () => {
    expect(errorFromResponse(502, '<html>Bad gateway</html>', 'grader').message).toMatch(
      /grader service has a problem right now \(502\)/
    );
    expect(errorFromResponse(403, '', 'campus').code).toBe('ERROR');
    const down = new CampusClient('/', () => Promise.reject(new TypeError('Failed to fetch')));
    const err: CampusError = await down.get('campus', 'me').catch(e => e);
    expect(err.code).toBe('NETWORK_ERROR');
    expect(err.message).toContain('Failed to fetch');
  });
});
