// The providers against real HTTP servers on loopback: what they send, what they read, and that a
// credential never shows in an error.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Metric } from '../../api/analysis.ts';
import { parseQueryAnswer, parseSample, prometheusProvider } from './prometheus.ts';
import { webProvider, webValue } from './web.ts';

let server: Server;
let base = '';
const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let answer: { status: number; body: string; delayMs?: number } = { status: 200, body: '{}' };

before(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      seen.push({ url: request.url ?? '', headers: request.headers, body });
      setTimeout(() => response.writeHead(answer.status).end(answer.body), answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const prometheus = (fields: Partial<NonNullable<Metric['provider']['prometheus']>> = {}): Metric => ({
  name: 'rate',
  successCondition: 'result > 0',
  provider: { prometheus: { address: base, query: 'sum(rate(x[1m]))', ...fields } },
});

describe('prometheus provider', () => {
  it('asks /api/v1/query with the query and a bearer token, and reads a one-sample vector as a number', async () => {
    answer = {
      status: 200,
      body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.97"]}]}}',
    };
    const value = await prometheusProvider.measure(prometheus({ timeout: '2s' }), { bearerToken: 's3cret' });
    assert.equal(value, 0.97);
    const request = seen.at(-1);
    assert.equal(new URL(request?.url ?? '', base).searchParams.get('query'), 'sum(rate(x[1m]))');
    assert.equal(request?.headers.authorization, 'Bearer s3cret');
  });
  it('reads several samples as a list, none as an empty list, and Prometheus infinities and NaN', () => {
    const vector = (...values: string[]) =>
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: values.map((v) => ({ value: [1, v] })) },
      });
    assert.deepEqual(parseQueryAnswer(vector('1', '2')), [1, 2]);
    assert.deepEqual(parseQueryAnswer(vector()), []);
    assert.equal(parseQueryAnswer(vector('+Inf')), Infinity);
    assert.ok(Number.isNaN(parseQueryAnswer(vector('NaN'))));
    assert.equal(parseQueryAnswer('{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}'), 3);
    assert.equal(parseSample('-Inf'), -Infinity);
  });
  it('says why a query is refused, and a refused credential without showing it', async () => {
    answer = { status: 400, body: '{"status":"error","errorType":"bad_data","error":"parse error at char 5"}' };
    await assert.rejects(
      prometheusProvider.measure(prometheus(), {}),
      /refused the query: bad_data: parse error at char 5/,
    );
    answer = { status: 401, body: 'no' };
    await assert.rejects(prometheusProvider.measure(prometheus(), { bearerToken: 's3cret' }), (error: Error) => {
      assert.match(error.message, /refused the credentials \(HTTP 401\)/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
  it('times out, saying after how long', async () => {
    answer = { status: 200, body: '{}', delayMs: 1_500 };
    await assert.rejects(prometheusProvider.measure(prometheus({ timeout: '200ms' }), {}), /no answer within 200 ms/);
  });
});

describe('web provider', () => {
  it('sends method, headers and body, and reads the value at jsonPath', async () => {
    answer = { status: 200, body: '{"data":{"checks":[{"ok":0.99}],"healthy":true}}' };
    const metric: Metric = {
      name: 'web',
      successCondition: 'result > 0.9',
      provider: {
        web: {
          url: `${base}/verdict`,
          method: 'POST',
          headers: [{ key: 'X-Team', value: 'shop' }],
          body: '{"service":"orders"}',
          jsonPath: '$.data.checks[0].ok',
        },
      },
    };
    assert.equal(await webProvider.measure(metric, {}), 0.99);
    const request = seen.at(-1);
    assert.equal(request?.url, '/verdict');
    assert.equal(request?.headers['x-team'], 'shop');
    assert.equal(request?.body, '{"service":"orders"}');
    assert.equal(webValue('{"data":{"healthy":true}}', '{$.data.healthy}'), 1);
    assert.deepEqual(webValue('[1,"2"]', undefined), [1, 2]);
    assert.throws(() => webValue('{"a":"x"}', '$.a'), /not a number/);
    assert.throws(() => webValue('{"a":1}', '$.b'), /finds nothing/);
  });
  it('an HTTP error is an error', async () => {
    answer = { status: 503, body: 'down' };
    await assert.rejects(
      webProvider.measure(
        { name: 'w', successCondition: 'result > 0', provider: { web: { url: `${base}/x?token=abc` } } },
        {},
      ),
      (error: Error) => {
        assert.match(error.message, /\/x answered HTTP 503/);
        assert.doesNotMatch(error.message, /token=abc/, 'the query string is never shown');
        return true;
      },
    );
  });
});
