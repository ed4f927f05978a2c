// Drives Chromium over the DevTools protocol: starts the page's WebSocket session, waits
// for it to close, then has the DevTools front-end itself (its models/har Writer, the code
// behind "Save all as HAR with content") write the HAR of its network log.
// usage: node --experimental-websocket chromium-har.js ECHO_PORT OUT_FILE
// (Chromium already running with --remote-debugging-port=9222 --auto-open-devtools-for-tabs
// on http://127.0.0.1:18000/chromium-page.html.)
const [port, out] = process.argv.slice(2);
const fs = require('fs');
async function targets() { return (await fetch('http://127.0.0.1:9222/json/list')).json(); }
function session(url) {
  const ws = new WebSocket(url);
  let id = 0; const pending = new Map();
  ws.onmessage = e => { const m = JSON.parse(e.data); if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); } };
  const ready = new Promise(r => ws.onopen = r);
  return { ready, ws, send(method, params = {}) { const i = ++id; ws.send(JSON.stringify({id: i, method, params})); return new Promise(r => pending.set(i, r)); } };
}
async function evaluate(s, expression) {
  const r = await s.send('Runtime.evaluate', {expression, awaitPromise: true, returnByValue: true});
  if (r.error || r.result.exceptionDetails) throw new Error(JSON.stringify(r.error || r.result.exceptionDetails));
  return r.result.result.value;
}
(async () => {
  const list = await targets();
  const page = session(list.find(t => t.url.startsWith('http://127.0.0.1:18000/')).webSocketDebuggerUrl);
  const tools = session(list.find(t => t.url.startsWith('devtools://devtools/')).webSocketDebuggerUrl);
  await page.ready; await tools.ready;
  // Wait until the front-end's network log exists.
  for (let i = 0; i < 100; i++) {
    const ok = await evaluate(tools, `import('devtools://devtools/bundled/models/logs/logs.js').then(L => !!L.NetworkLog.NetworkLog.instance()).catch(() => false)`);
    if (ok) break; await new Promise(r => setTimeout(r, 100));
  }
  await new Promise(r => setTimeout(r, 1000));
  // Load the page again with DevTools recording, so that the HAR has its HTTP entry too.
  await page.send('Page.enable');
  await page.send('Page.reload', {ignoreCache: true});
  for (let i = 0; i < 100; i++) {
    if (await evaluate(page, "document.readyState === 'complete' && typeof start === 'function'")) break;
    await new Promise(r => setTimeout(r, 100));
  }
  await new Promise(r => setTimeout(r, 500));
  await evaluate(page, `start(${port})`);
  for (let i = 0; i < 100; i++) {
    const done = await evaluate(page, 'done');
    if (done) { console.error('page:', done); break; }
    await new Promise(r => setTimeout(r, 100));
  }
  await new Promise(r => setTimeout(r, 500));
  const har = await evaluate(tools, `(async () => {
    const Logs = await import('devtools://devtools/bundled/models/logs/logs.js');
    const HAR = await import('devtools://devtools/bundled/models/har/har.js');
    const Common = await import('devtools://devtools/bundled/core/common/common.js');
    const requests = Logs.NetworkLog.NetworkLog.instance().requests();
    let text = '';
    const stream = {write: async chunk => { text += chunk; }, close: async () => {}};
    const progress = new Common.Progress.Progress();
    const args = HAR.Writer.Writer.write.length;
    if (args >= 4) {
      await HAR.Writer.Writer.write(stream, requests, {sanitize: false}, progress);
    } else {
      await HAR.Writer.Writer.write(stream, requests, progress);
    }
    return JSON.stringify({args, text});
  })()`);
  const {args, text} = JSON.parse(har);
  console.error('Writer.write takes', args, 'arguments; HAR of', text.length, 'characters');
  fs.writeFileSync(out, text);
  process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
