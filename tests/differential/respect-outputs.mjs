// Runs Redocly CLI `respect` and also records each workflow's outputs, which its JSON report
// leaves out: a module hook adds one statement after the line of respect-core that stores a
// workflow's outputs (`ctx.$outputs[workflowId] = outputs`), and the outputs are written as JSON to
// $RESPECT_OUTPUTS_FILE at exit. The pattern is checked: if a Redocly version no longer has it,
// the run fails instead of silently reporting no outputs.
//
// Usage: node respect-outputs.mjs <path to @redocly/cli/bin/cli.js> respect ...
import { register } from 'node:module';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [cli, ...args] = process.argv.slice(2);
const out = process.env.RESPECT_OUTPUTS_FILE;
globalThis.__capgenOutputs = [];
globalThis.__capgenPatched = false;
const { port1, port2 } = new MessageChannel();
port1.on('message', () => { globalThis.__capgenPatched = true; });
port1.unref();
register(
  'data:text/javascript,' + encodeURIComponent(`
    let port;
    export function initialize(data) { port = data.port; }
    export async function load(url, context, next) {
      const result = await next(url, context);
      if (!url.includes('@redocly/cli/lib/') || result.source == null) return result;
      const text = String(result.source);
      const re = /([A-Za-z_$][\\w$]*)\\.\\$outputs\\[([A-Za-z_$][\\w$]*)\\]=([A-Za-z_$][\\w$]*),/;
      if (!re.test(text)) return result;
      port.postMessage('patched');
      return { ...result, source: text.replace(re, (m, ctx, id, value) =>
        m + 'globalThis.__capgenOutputs.push({workflowId:' + id + ',outputs:' + value + '}),') };
    }`),
  { data: { port: port2 }, transferList: [port2] },
);
process.on('exit', () => {
  if (out) writeFileSync(out, JSON.stringify({ patched: globalThis.__capgenPatched, workflows: globalThis.__capgenOutputs }, null, 1));
});
process.argv = [process.argv[0], cli, ...args];
await import(pathToFileURL(cli).href);
