import cf from 'cloudfront';
// Template of the viewer-request CloudFront Function (cloudfront-js-2.0). tools/generate_edge_function.py
// writes viewer_request.js from it with the crawler pattern; edit this file, never the generated one.
const kvs = cf.kvs();
// @@CRAWLER_PATTERN@@
// @@COMMON@@
const MARKERS = ['x-prerender', 'x-prerender-host', 'x-prerender-uri', 'x-route', 'x-variant'];
const RENDERER = 'renderer';
const SPA = 'spa';
// The renderer answers 5xx when a render fails or times out, 403 if CloudFront's signature is refused: the crawler
// then gets the app shell from the SPA origin instead of an error. 404/410 are the page's own answer and stay.
const FAILOVER = [403, 500, 502, 503, 504];
// Set by the distribution's web ACL on every request (components/web_acl.py): "verified" only when AWS WAF Bot
// Control verified the crawler by its operator's addresses. A crawler user agent without it is anyone's: it gets the
// app like a person, so a spoofed flood never reaches the renderer's reserved concurrency.
const CHECKED = 'x-amzn-waf-crawler';

// The Android device segment names the phone: only its product tokens are read (a crawler naming itself there).
function products(segment) {
    return segment.replace(/[^;()]+/g, function (item) {
        return /\w\/\d/.test(item) && !/build\//i.test(item) ? item : ' ';
    });
}

// Crawler words and operators count anywhere but in an in-app browser's own [segment]; names (the dataset's, the
// supplement) only where a crawler names itself. In a browser's user agent that is the platform, the engine comment
// after "KHTML, like Gecko" and the comments after the product, never the bare tokens after it: those are the app's
// (an in-app browser, a Thunderbird add-on). In a native app's, everything but the app's name.
function isCrawler(ua) {
    if (!ua) {
        return false;
    }
    const s = ua.replace(DEVICE, products).replace(HUMAN, ' ');
    const b = s.match(BROWSER);
    if (!b) {
        return CRAWLER.test(s) || NAMED.test(NATIVE.test(s) ? s.slice(s.indexOf(' ')) : s);
    }
    const naming = b[1] + (b[2] || '') + (b[3].match(NAMING) || []).join(' ');
    return CRAWLER.test(naming + b[3].replace(APP, ' ')) || NAMED.test(naming);
}

function isPage(uri) {
    return uri.slice(uri.lastIndexOf('/') + 1).indexOf('.') < 0;
}

function stripTracking(query, tracking) {
    const names = Object.keys(query);
    for (let i = 0; i < names.length; i++) {
        const lower = names[i].toLowerCase();
        for (let j = 0; j < tracking.length; j++) {
            const t = tracking[j];
            const prefix = t.charAt(t.length - 1) === '*';
            if (prefix ? lower.indexOf(t.slice(0, -1)) === 0 : lower === t) {
                delete query[names[i]];
                break;
            }
        }
    }
}

async function handler(event) {
    const request = event.request;
    const headers = request.headers;
    // Only this function sets the cache-key markers: a viewer sending them lands on the human entry.
    for (let i = 0; i < MARKERS.length; i++) {
        delete headers[MARKERS[i]];
    }
    const routing = await settings();
    stripTracking(request.querystring, routing.tracking);
    const page = isPage(request.uri);
    const ua = headers['user-agent'] ? headers['user-agent'].value : '';
    const checked = headers[CHECKED] ? headers[CHECKED].value : '';
    if (page && (request.method === 'GET' || request.method === 'HEAD') && checked === 'verified' && isCrawler(ua)) {
        headers['x-prerender'] = { value: '1' };
        headers['x-prerender-host'] = { value: headers.host ? headers.host.value : '' };
        headers['x-prerender-uri'] = { value: request.uri };
        if (routing.fallback) {
            request.uri = routing.fallback; // what the SPA origin serves if the renderer fails
        }
        cf.createRequestOriginGroup({
            originIds: [{ originId: RENDERER }, { originId: SPA }],
            failoverCriteria: { statusCodes: FAILOVER },
        });
        return request;
    }
    const country = headers['cloudfront-viewer-country'] ? headers['cloudfront-viewer-country'].value : '';
    const route = routing.countries[country] || '';
    const variant = chooseVariant(routing.variants, request.cookies, event.context.requestId);
    headers['x-route'] = { value: route || 'default' };
    headers['x-variant'] = { value: variant ? variant.name : 'none' };
    const origin = (variant && variant.origin) || route;
    if (origin && origin !== SPA) {
        cf.selectRequestOriginById(origin); // country and variant origins do their own deep-link rewrites
    } else if (page && routing.fallback) {
        request.uri = routing.fallback; // an S3 origin has no rewrites: deep links get the app's entry document
    }
    return request;
}
