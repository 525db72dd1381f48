/**
 * Talking to the campus and grader services through the server part
 * (`<server>/nbcampus/{campus,grader}/api/v1/...`). Every failure becomes a CampusError
 * with a readable message, so the panel can always say what went wrong.
 */
import { ITrans, identityTrans } from './model';

export type Service = 'campus' | 'grader';

export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export class CampusError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string
  ) {
    super(message);
    this.name = 'CampusError';
  }

  /** The service does not offer this yet (or the thing does not exist). */
  get notFound(): boolean {
    return this.status === 404;
  }
}

/** The service's `{code, message}` error (or whatever came instead) as a CampusError. */
export function errorFromResponse(
  status: number,
  text: string,
  service: Service,
  trans: ITrans = identityTrans
): CampusError {
  let code = 'ERROR';
  let message = '';
  try {
    const body = JSON.parse(text);
    if (body && typeof body === 'object') {
      code = typeof body.code === 'string' ? body.code : code;
      message = typeof body.message === 'string' ? body.message : '';
    }
  } catch {
    // not JSON: fall through to a message from the status
  }
  if (!message) {
    if (status === 401 || status === 403) {
      message = trans.__('You are not allowed to do this (%1).', status);
    } else if (status >= 500) {
      message = trans.__('The %1 service has a problem right now (%2). Try again in a moment.', service, status);
    } else {
      message = trans.__('The %1 service answered %2.', service, status);
    }
  }
  return new CampusError(message, status, code);
}

export class CampusClient {
  constructor(
    readonly baseUrl: string,
    private readonly fetcher: Fetcher,
    private readonly trans: ITrans = identityTrans
  ) {
    if (!this.baseUrl.endsWith('/')) {
      this.baseUrl += '/';
    }
  }

  url(service: Service, path: string): string {
    return `${this.baseUrl}nbcampus/${service}/api/v1/${path.replace(/^\/+/, '')}`;
  }

  async request<T = any>(
    service: Service,
    path: string,
    options: { method?: string; body?: unknown } = {}
  ): Promise<T> {
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await this.fetcher(this.url(service, path), init);
    } catch (err) {
      throw new CampusError(
        this.trans.__('Cannot reach your Jupyter server: %1', (err as Error).message ?? String(err)),
        0,
        'NETWORK_ERROR'
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw errorFromResponse(response.status, text, service, this.trans);
    }
    if (!text) {
      return {} as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CampusError(
        this.trans.__('The %1 service sent something that is not JSON.', service),
        response.status,
        'BAD_RESPONSE'
      );
    }
  }

  get<T = any>(service: Service, path: string): Promise<T> {
    return this.request<T>(service, path);
  }

  post<T = any>(service: Service, path: string, body: unknown = {}): Promise<T> {
    return this.request<T>(service, path, { method: 'POST', body });
  }

  put<T = any>(service: Service, path: string, body: unknown = {}): Promise<T> {
    return this.request<T>(service, path, { method: 'PUT', body });
  }
}
