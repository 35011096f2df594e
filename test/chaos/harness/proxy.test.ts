import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { LinkProxy } from './proxy.js';

/** An echo server and a proxy in front of it; closed at teardown. */
async function setup(t: ExecutionContext): Promise<LinkProxy> {
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const proxy = new LinkProxy('a', 'b', (echo.address() as net.AddressInfo).port);
  await proxy.listen();
  t.teardown(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });
  return proxy;
}

/** Sends text through the proxy and resolves with what came back, or the error/close reason. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => {
      got += d;
      if (got.length >= text.length) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
    s.on('close', () => resolve(got === '' ? 'closed' : got));
  });
}

test('forwards, refuses while blocked, forwards again when healed', async (t) => {
  const proxy = await setup(t);
  t.is(await roundTrip(proxy.port, 'hello'), 'hello');
  proxy.block();
  t.regex(await roundTrip(proxy.port, 'hello'), /^(error|closed)/);
  proxy.heal();
  t.is(await roundTrip(proxy.port, 'again'), 'again');
});

test('block cuts open connections', async (t) => {
  const proxy = await setup(t);
  const s = net.connect(proxy.port, '127.0.0.1');
  await new Promise((resolve) => s.once('connect', resolve));
  const closed = new Promise((resolve) => s.once('close', resolve));
  s.on('error', () => undefined);
  proxy.block();
  await closed;
  t.pass();
});

test('delay keeps the byte order', async (t) => {
  const proxy = await setup(t);
  proxy.delay(30);
  const started = Date.now();
  const text = Array.from({ length: 200 }, (_, i) => `${i},`).join('');
  t.is(await roundTrip(proxy.port, text), text);
  t.true(Date.now() - started >= 55, 'two delayed hops');
});

test('drop resets open connections but accepts new ones', async (t) => {
  const proxy = await setup(t);
  const s = net.connect(proxy.port, '127.0.0.1');
  await new Promise((resolve) => s.once('connect', resolve));
  const closed = new Promise((resolve) => s.once('close', resolve));
  s.on('error', () => undefined);
  proxy.drop();
  await closed;
  t.is(await roundTrip(proxy.port, 'still open'), 'still open');
});
