import cf from 'cloudfront';
// Template of the viewer-response CloudFront Function (cloudfront-js-2.0): makes the A/B assignment sticky.
// tools/generate_edge_function.py writes viewer_response.js from it; edit this file, never the generated one.
const kvs = cf.kvs();
// @@COMMON@@
const MAX_AGE = 2592000; // 30 days: one experiment's length

async function handler(event) {
    const response = event.response;
    if (response.headers['x-prerender-cache']) {
        return response; // a crawler's snapshot: crawlers take part in no experiment
    }
    const routing = await settings();
    const cookies = event.request.cookies;
    if (!routing.variants.length || (cookies[COOKIE] && findVariant(routing.variants, cookies[COOKIE].value))) {
        return response;
    }
    // The same request id gives the same draw the viewer-request function made for this response.
    const variant = chooseVariant(routing.variants, {}, event.context.requestId);
    response.cookies[COOKIE] = { value: variant.name, attributes: 'Path=/; Max-Age=' + MAX_AGE + '; Secure; SameSite=Lax' };
    return response;
}
